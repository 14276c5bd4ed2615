"""The node of the loopback cluster: pods of fakes.kube_api.KubeAPI as processes.

No kubelet or container runtime can run here, so this is their smallest
honest stand-in. A pod created through the API (by KubeSpawner's
``start()``) and bound to no other node becomes a real local process
running the pod's own command (``jupyterhub-singleuser``, from this
virtualenv) with the pod's environment, in a folder that stands for the
container's ``/``:

- each pod gets its own loopback address (127.0.1.x, .2.x, ...), which is
  its ``status.podIP``; the server's ``--ip`` is that address, so the hub
  reaches the pod where KubeSpawner says it is;
- a PersistentVolumeClaim mounted by a pod is one folder per claim, shared
  by every pod that mounts it (the container path is a link to it), made
  with the mode csi-driver-nfs gives it under the claim's StorageClass
  (``storage_classes``: ``mountPermissions``, else 755; owned by the node's
  user, where an NFS server that squashes root would give it to nobody); a
  Secret's or ConfigMap's keys become files, with ``items``, ``subPath``
  and ``defaultMode`` as the kubelet applies them;
- the notebook server's file root is the pod's ``/`` (an argument added:
  ``--ServerApp.root_dir``), so the contents API sees the container's
  paths, e.g. ``home/{username}-nfs-pvc``;
- the node stands in for the scheduler too: a new pod gets the Normal
  events a cluster records, worded as there (Scheduled by default-scheduler,
  then the kubelet's Pulling, Pulled, Created, Started), which KubeSpawner
  shows in a launch's progress;
- a volume whose Secret, ConfigMap or claim does not exist yet is retried
  (a FailedMount Warning event, as the kubelet words it) until it appears,
  the pod deleted or the node closed; the pod stays Pending meanwhile;
- the pod is Running once its process runs, and Ready (conditions and
  containerStatuses) only once its readinessProbe passes (tcpSocket,
  httpGet) or, without one, once its first container port answers; Failed
  (or Succeeded) when the process ends by itself; deleting the pod ends it;
- ``$(VAR)`` in command and args is expanded from the container's env, as
  the kubelet does; the pod's processes find the node's virtualenv's
  programs (``programs``: this Python's unless told) and the project's
  node_modules/.bin (configurable-http-proxy) on PATH;
- as root, the process runs in its own mount namespace where ``/etc`` is
  the host's overlaid by the pod's ``etc`` folder (writable): volumes
  mounted under /etc are at their container paths, and ``/etc/hosts`` is
  the node's: localhost, the pod's name, and every Service of the cluster
  (``name``, ``name.ns``, ``name.ns.svc``, ``name.ns.svc.cluster.local``)
  at the address of a pod it selects, a stand-in for cluster DNS (no
  virtual IPs, no kube-proxy; refreshed when a process starts or an exec
  runs). ``exec()`` runs a command in a running pod's namespace with its
  environment, as ``kubectl exec`` does.

What is not simulated: images (every pod runs this machine's Python),
resource limits, users and groups (the process runs as this machine's user,
not the pod's ``runAsUser``: this Python lives where uid 1000 cannot read
it; as root, ``--ServerApp.allow_root`` is added), image pulls (the events
say an image was pulled; none is), restarts, and the network (loopback
only: no network namespace, so a process that listens on 0.0.0.0 takes
that port on every pod's address; only paths below /etc are the
container's own, the rest of the file system is the host's), and PID
namespaces: what is left of a pod's process group is killed when its main
process ends, but a child that left the group (JupyterHub starts its proxy
in a session of its own) outlives a main process that dies without
stopping it.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakes.kube_api import KubeAPI
from fakes.lifetime import bound_to_parent
from fakes.ports import release, reserve

#: Seconds a stopped pod's process gets to end after SIGTERM, before SIGKILL.
GRACE_SECONDS = 5.0
#: The mode csi-driver-nfs leaves a new claim's directory with when its
#: StorageClass sets no mountPermissions (made by root, umask 022).
PROVISIONED_MODE = 0o755
#: This node's name: pods bound to any other node are not run here.
NODE_NAME = "loopback"
#: The most pods one node runs at once (addresses 127.0.1.1 .. 127.0.N.250).
MAX_PODS = 250 * 8
#: Seconds between tries of a pod whose volumes are missing (the kubelet
#: backs off up to 2 minutes; a test must not wait that long).
MOUNT_RETRY_SECONDS = 1.0
#: Seconds between readiness checks when the probe sets no periodSeconds.
PROBE_SECONDS = 0.2
#: configurable-http-proxy and other npm programs of the project.
NODE_BIN = Path(__file__).resolve().parents[1] / "node_modules" / ".bin"
#: Programs that are Jupyter servers: they get the pod's address and root.
_JUPYTER_SERVERS = ("jupyterhub-singleuser", "jupyter", "jupyter-lab", "jupyter-server")
_VARIABLE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RunningPod:
    namespace: str
    name: str
    ip: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path
    #: The ports reserved for it on ``ip`` (fakes/ports.py).
    ports: list[int]
    #: The container's environment and working directory (for exec).
    env: dict[str, str]
    workdir: Path


class Kubelet:
    """Runs the API's pods as local processes, below ``root``."""

    def __init__(self, api: KubeAPI, root: Path, programs: Path | None = None) -> None:
        self.api = api
        self.root = root
        #: Where the pods' programs are (the stand-in for their image): this
        #: Python's virtualenv unless another is given.
        self.programs = programs or Path(sys.executable).parent
        self.pods: dict[tuple[str, str], RunningPod] = {}
        #: StorageClass name -> the object (storage.k8s.io is not served by
        #: the API): what decides a new claim folder's mode.
        self.storage_classes: dict[str, dict[str, Any]] = {}
        #: False: new pods stay Pending, as on a node that cannot start them
        #: (no capacity, an image that never pulls); for the fault tests.
        self.start_pods = True
        self._lock = threading.Lock()
        #: Pod processes are started from this one long-lived thread: each
        #: is killed when the thread that started it ends (fakes/lifetime.py),
        #: so all of them end with the node, even if it is SIGKILLed.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="kubelet-spawn")
        #: Pods being stopped after a delete; close() waits for them.
        self._stopping: set[threading.Thread] = set()
        self._closed = False
        #: Set when the node closes: ends mount retries and probes at once.
        self._closing = threading.Event()
        self._starting: set[tuple[str, str]] = set()
        # Each node starts at its own place, so nodes of processes that run
        # at once (a test and `make demo`) rarely try the same address.
        start = random.randrange(MAX_PODS)
        every = [
            f"127.0.{block}.{host}"
            for block, host in itertools.product(range(1, 9), range(1, 251))
        ]
        self._addresses = iter(every[start:] + every[:start])
        api.subscribe(self._on_event)
        api.executor = self._execute

    # -- the API's events -------------------------------------------------

    def _on_event(self, kind: str, resource: str, obj: dict[str, Any]) -> None:
        if resource != "pods":
            return
        if (obj.get("spec") or {}).get("nodeName") not in (None, "", NODE_NAME):
            return  # bound to another node: its kubelet's, not ours
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if kind == "ADDED" and not self.start_pods:
            self._event_for(obj, "FailedScheduling", "this node holds new pods")
        elif kind == "ADDED":
            self._event_for(
                obj,
                "Scheduled",
                f"Successfully assigned {key[0]}/{key[1]} to {NODE_NAME}",
                "Normal",
                "default-scheduler",
            )
            threading.Thread(target=self._start, args=(obj,), daemon=True).start()
        elif kind == "DELETED":
            with self._lock:
                pod = self.pods.pop(key, None)
            if pod is not None:
                self._stop_in_background(pod)

    def _stop_in_background(self, pod: RunningPod) -> None:
        def stop() -> None:
            try:
                _stop(pod)
            finally:
                with self._lock:
                    self._stopping.discard(thread)

        thread = threading.Thread(target=stop, daemon=True)
        with self._lock:
            self._stopping.add(thread)
        thread.start()

    @property
    def starting(self) -> set[tuple[str, str]]:
        """(namespace, name) of the pods whose start is under way (retried)."""
        with self._lock:
            return set(self._starting)

    def _start(self, pod: dict[str, Any]) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        with self._lock:
            self._starting.add(key)
        try:
            self._start_once_ready(pod)
        finally:
            with self._lock:
                self._starting.discard(key)

    def _start_once_ready(self, pod: dict[str, Any]) -> None:
        """Start the pod's process once its volumes can be mounted."""
        namespace = pod["metadata"]["namespace"]
        name = pod["metadata"]["name"]
        said = ""
        running = None
        for _ in range(100_000):  # ends when it runs, the pod goes, or the node
            try:
                running = self._run(pod)
                break
            except Missing as error:  # as the kubelet: wait for it to appear
                if str(error) != said:
                    said = str(error)
                    self._set_status(namespace, name, _waiting(said))
                    self._event_for(pod, error.reason, said)
            except PodError as error:
                self._set_status(namespace, name, _waiting(str(error)))
                self._event_for(pod, "FailedMount", str(error))
                return
            except RuntimeError:  # the node closed meanwhile: its spawner is gone
                return
            if self._closing.wait(MOUNT_RETRY_SECONDS) or not self._current(pod):
                return
        if running is None:
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self.pods[(namespace, name)] = running
        # Closed, or the pod deleted (perhaps made anew) while it started: its
        # DELETED event found no process to stop, so stop this one now.
        if closed or not self._current(pod):
            with self._lock:
                if self.pods.get((namespace, name)) is running:
                    del self.pods[(namespace, name)]
            _stop(running)
            return
        container = pod["spec"]["containers"][0]
        image = container.get("image", "")
        for reason, message in (
            ("Pulling", f'Pulling image "{image}"'),
            (
                "Pulled",
                f'Successfully pulled image "{image}" in 0s (0s including waiting)',
            ),
            ("Created", f"Created container {container['name']}"),
            ("Started", f"Started container {container['name']}"),
        ):
            self._event_for(pod, reason, message, "Normal")
        self._set_status(namespace, name, _running(running.ip, pod, ready=False))
        threading.Thread(target=self._watch_exit, args=(running,), daemon=True).start()
        self._probe(pod, running, container)

    def _current(self, pod: dict[str, Any]) -> bool:
        """The pod is still the one stored (not deleted, not made anew)."""
        meta = pod["metadata"]
        stored = self.api.get("pods", meta["namespace"], meta["name"])
        return stored is not None and stored["metadata"].get("uid") == meta.get("uid")

    def _probe(
        self, pod: dict[str, Any], running: RunningPod, container: dict[str, Any]
    ) -> None:
        """Mark the pod Ready once its readiness check passes; give up when
        the process ends, the pod is gone or the node closes."""
        probe = container.get("readinessProbe") or {}
        period = float(probe.get("periodSeconds") or PROBE_SECONDS)
        period = min(period, PROBE_SECONDS * 5)
        for _ in range(1_000_000):  # bounded by the checks below
            if running.process.poll() is not None or self._closing.is_set():
                return
            with self._lock:
                if self.pods.get((running.namespace, running.name)) is not running:
                    return
            if _ready(probe, container, running.ip):
                self._set_status(
                    running.namespace, running.name, _running(running.ip, pod)
                )
                return
            self._closing.wait(period)

    def _watch_exit(self, pod: RunningPod) -> None:
        code = pod.process.wait()
        _end_group(pod)  # the container's other processes end with it
        with self._lock:
            mine = self.pods.get((pod.namespace, pod.name)) is pod
            if mine:
                del self.pods[(pod.namespace, pod.name)]
        if mine:  # ended by itself, not by a delete
            _release(pod.ip, pod.ports)
            self._set_status(pod.namespace, pod.name, _terminated(pod.ip, code))

    def _event_for(
        self,
        pod: dict[str, Any],
        reason: str,
        message: str,
        kind: str = "Warning",
        component: str = "kubelet",
    ) -> None:
        """An Event on the pod, as the kubelet (or scheduler) records one
        (KubeSpawner shows a pod's events in the launch's progress)."""
        meta = pod["metadata"]
        event = {
            "metadata": {"generateName": f"{meta['name']}."},
            "involvedObject": {
                "kind": "Pod",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta.get("uid", ""),
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "firstTimestamp": _now(),
            "lastTimestamp": _now(),
            "count": 1,
            "source": {"component": component}
            | ({"host": NODE_NAME} if component == "kubelet" else {}),
        }
        with contextlib.suppress(Exception):  # an event is a courtesy
            self.api.create("events", meta["namespace"], event)

    def _set_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        with contextlib.suppress(KeyError, LookupError):  # deleted meanwhile
            if self.api.get("pods", namespace, name) is not None:
                self.api.update_status("pods", namespace, name, status)

    # -- one pod ------------------------------------------------------------

    def _run(self, pod: dict[str, Any]) -> RunningPod:
        [container] = pod["spec"]["containers"][:1] or [None]
        if container is None:
            raise PodError("no container")
        ports = [p["containerPort"] for p in container.get("ports") or []]
        ip = self._free_address(ports)
        try:
            return self._launch(pod, container, ip, ports)
        except BaseException:
            _release(ip, ports)
            raise

    def _launch(
        self, pod: dict[str, Any], container: dict[str, Any], ip: str, ports: list
    ) -> RunningPod:
        namespace = pod["metadata"]["namespace"]
        name = pod["metadata"]["name"]
        spec = pod["spec"]
        root = self.root / "pods" / f"{namespace}-{name}"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for mount in container.get("volumeMounts") or []:
            volume = volumes[mount["name"]]
            try:
                self._mount(namespace, volume, mount, root)
            except Missing as error:
                raise Missing(
                    f'MountVolume.SetUp failed for volume "{volume["name"]}" : {error}'
                ) from None
        env = self._environment(namespace, pod, container, ip)
        workdir = _inside(root, container.get("workingDir") or "/home/jovyan")
        workdir.mkdir(parents=True, exist_ok=True)
        env.setdefault("HOME", str(_inside(root, "/home/jovyan")))
        command = self._command(container, ip, root, env)
        self._write_hosts(root, namespace, name, ip)
        log = root.parent / f"{namespace}-{name}.log"
        with log.open("wb") as out:
            process = self._spawner.submit(
                subprocess.Popen,
                bound_to_parent(_contained(root, command, name)),
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop ends all of it
            ).result()
        return RunningPod(namespace, name, ip, root, process, log, ports, env, workdir)

    def _free_address(self, ports: list[int]) -> str:
        """The next loopback address on which the pod's ports are free,
        reserved for it (another node on this machine may hold some)."""
        for ip in self._addresses:
            taken = []
            for port in ports:
                if not reserve(ip, port):
                    break
                taken.append(port)
            else:
                return ip
            for port in taken:
                release(ip, port)
        raise PodError(f"this node runs at most {MAX_PODS} pods")

    def _command(
        self, container: dict[str, Any], ip: str, root: Path, env: dict[str, str]
    ) -> list[str]:
        """The container's command and args (``$(VAR)`` expanded from its
        env), programs from this Python's environment; a Jupyter server
        listens on the pod's address with its files rooted at the pod's /."""
        words = [*(container.get("command") or []), *(container.get("args") or [])]
        if not words:
            raise PodError("the container has no command (images are not simulated)")
        words = [_expand(word, env) for word in words]
        program = _program(words[0], self.programs)
        if program is None:
            raise PodError(f"{words[0]} is not installed here")
        if Path(program).name not in _JUPYTER_SERVERS:
            return [program, *words[1:]]
        args = [a for a in words[1:] if not a.startswith(("--ip=", "--ip "))]
        added = [f"--ip={ip}", f"--ServerApp.root_dir={root}"]
        if os.geteuid() == 0:  # users are not simulated; CI runs as root
            added.append("--ServerApp.allow_root=True")
        return [program, *args, *added]

    def _write_hosts(self, root: Path, namespace: str, name: str, ip: str) -> None:
        """The pod's /etc/hosts: localhost, itself, and the cluster's Services
        at the address of a pod each selects (the cluster DNS stand-in)."""
        lines = [
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost",
            f"{ip}\t{name}",
        ]
        for service in self.api.list_all("services"):
            meta = service["metadata"]
            selector = (service.get("spec") or {}).get("selector") or {}
            if not selector:
                continue
            target = next(
                (
                    p["status"]["podIP"]
                    for p in self.api.list("pods", meta["namespace"])
                    if (p.get("status") or {}).get("podIP")
                    and selector.items() <= (p["metadata"].get("labels") or {}).items()
                ),
                None,
            )
            if target is None:
                continue
            svc, ns = meta["name"], meta["namespace"]
            names = f"{svc}.{ns}.svc.cluster.local {svc}.{ns}.svc {svc}.{ns}"
            if ns == namespace:  # the search domain of the pod's namespace
                names += f" {svc}"
            lines.append(f"{target}\t{names}")
        etc = root / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text("\n".join(lines) + "\n")

    def _execute(
        self, namespace: str, name: str, command: list[str]
    ) -> tuple[int, bytes, bytes]:
        done = self.exec(namespace, name, command)
        return done.returncode, done.stdout, done.stderr

    def exec(
        self, namespace: str, name: str, command: list[str], timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``command`` in a running pod, as ``kubectl exec`` does: in its
        mount namespace (its /etc), with its environment and working folder."""
        with self._lock:
            pod = self.pods.get((namespace, name))
        if pod is None or pod.process.poll() is not None:
            raise PodError(f"pod {namespace}/{name} has no running container")
        program = _program(command[0], self.programs)
        if program is None:
            raise PodError(f"{command[0]} is not installed here")
        self._write_hosts(pod.root, namespace, name, pod.ip)
        argv = [program, *command[1:]]
        if _contained(pod.root, ["true"]) != ["true"]:  # join its mount namespace
            target = f"--target={pod.process.pid}"
            argv = ["nsenter", target, "--mount", "--uts", "--", *argv]
        return subprocess.run(
            argv,
            cwd=pod.workdir,
            env=pod.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def _environment(
        self, namespace: str, pod: dict[str, Any], container: dict[str, Any], ip: str
    ) -> dict[str, str]:
        env = {"PATH": f"{self.programs}:{NODE_BIN}:/usr/bin:/bin"}
        fields = {
            "metadata.name": pod["metadata"]["name"],
            "metadata.namespace": namespace,
            "status.podIP": ip,
        }
        for entry in container.get("env") or []:
            if "value" in entry:
                env[entry["name"]] = str(entry["value"])
                continue
            source = entry.get("valueFrom") or {}
            if "fieldRef" in source:
                env[entry["name"]] = fields.get(source["fieldRef"]["fieldPath"], "")
            elif "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                try:
                    data = self._data(
                        namespace, "secrets", ref["name"], ref.get("optional")
                    )
                except Missing as error:  # CreateContainerConfigError, retried
                    raise Missing(f"Error: {error}", "Failed") from None
                if ref["key"] in data:
                    env[entry["name"]] = data[ref["key"]].decode()
                elif not ref.get("optional"):
                    raise PodError(f"Secret {ref['name']} has no key {ref['key']}")
        return env

    def _mount(
        self, namespace: str, volume: dict[str, Any], mount: dict[str, Any], root: Path
    ) -> None:
        target = _inside(root, mount["mountPath"])
        target.parent.mkdir(parents=True, exist_ok=True)
        sub = mount.get("subPath") or ""
        if "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            if self.api.get("persistentvolumeclaims", namespace, claim) is None:
                raise Missing(f'persistentvolumeclaim "{claim}" not found')
            folder = self.claim_folder(namespace, claim)
            source = _inside(folder, sub) if sub else folder
            source.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source, target_is_directory=True)
            return
        if "emptyDir" in volume:
            target.mkdir(parents=True, exist_ok=True)
            return
        if "secret" in volume:
            source = volume["secret"]
            data = self._data(
                namespace, "secrets", source["secretName"], source.get("optional")
            )
        elif "configMap" in volume:
            source = volume["configMap"]
            data = self._data(
                namespace, "configmaps", source["name"], source.get("optional")
            )
        else:
            raise PodError(f"volume {volume['name']}: this node has no such kind")
        files = _projected(data, source)
        if sub:
            if sub not in files:
                raise PodError(f"volume {volume['name']} has no {sub}")
            _write(target, files[sub][0], files[sub][1])
            return
        target.mkdir(parents=True, exist_ok=True)
        for path, (content, mode) in files.items():
            _write(_inside(target, path), content, mode)

    def _data(
        self, namespace: str, resource: str, name: str, optional: bool | None
    ) -> dict[str, bytes]:
        import base64

        obj = self.api.get(resource, namespace, name)
        if obj is None:
            if optional:
                return {}
            raise Missing(f'{resource[:-1]} "{name}" not found')
        if resource == "secrets":
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            for key, value in (obj.get("stringData") or {}).items():
                data[key] = value.encode()
            return data
        return {k: v.encode() for k, v in (obj.get("data") or {}).items()}

    def claim_folder(self, namespace: str, claim: str) -> Path:
        """The folder that holds a claim's files, made on first use as the
        claim's provisioner makes it: csi-driver-nfs creates the claim's
        directory as root under umask 022 (mode 755), then gives it its
        StorageClass's ``mountPermissions`` when that is set."""
        folder = self.root / "claims" / f"{namespace}-{claim}"
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir()
        except FileExistsError:
            return folder
        folder.chmod(self.provisioned_mode(namespace, claim))
        return folder

    def provisioned_mode(self, namespace: str, claim: str) -> int:
        """The mode a new claim's directory gets from its StorageClass."""
        found = self.api.get("persistentvolumeclaims", namespace, claim) or {}
        name = (found.get("spec") or {}).get("storageClassName") or ""
        parameters = (self.storage_classes.get(name) or {}).get("parameters") or {}
        try:
            return int(str(parameters.get("mountPermissions") or ""), 8)
        except ValueError:  # unset or not octal: the driver leaves it alone
            return PROVISIONED_MODE

    def pod_root(self, namespace: str, name: str) -> Path:
        return self.root / "pods" / f"{namespace}-{name}"

    def close(self) -> None:
        """End every pod's process (what the node's shutdown does), at once:
        the pods' grace periods run side by side, as a node's do."""
        self._closing.set()
        with self._lock:
            self._closed = True
            pods = list(self.pods.values())
            self.pods.clear()
        for pod in pods:
            self._stop_in_background(pod)
        with self._lock:
            stopping = list(self._stopping)
        for thread in stopping:
            thread.join()
        self._spawner.shutdown(wait=True)

    def __enter__(self) -> Kubelet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PodError(Exception):
    """Why a pod cannot start here; it stays Pending with this message."""


class Missing(PodError):
    """An object the pod needs does not exist (yet): tried again later."""

    def __init__(self, message: str, reason: str = "FailedMount") -> None:
        super().__init__(message)
        self.reason = reason


def _program(word: str, programs: Path) -> str | None:
    """Where a container's program is here: the node's virtualenv, the
    project's npm programs, then the system's."""
    path = f"{programs}:{NODE_BIN}:/usr/bin:/bin"
    return shutil.which(word, path=path)


def _expand(word: str, env: dict[str, str]) -> str:
    """``$(VAR)`` from the container's env, ``$$`` a literal ``$``; an unknown
    variable stays as written (Kubernetes' expansion rules)."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VARIABLE.sub(one, word)


def _contained(root: Path, command: list[str], hostname: str = "") -> list[str]:
    """``command`` in mount and UTS namespaces of its own: /etc is the host's
    overlaid by ``root``/etc, the host name the pod's (as root, with
    unshare); else unchanged."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        return command
    upper, work = root / "etc", root / ".etc-work"
    upper.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    script = (
        'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc'
        ' && { [ -z "$3" ] || hostname "$3"; } && shift 3 && exec "$@"'
    )
    return [
        unshare,
        "--mount",
        "--uts",
        "--",
        "/bin/sh",
        "-c",
        script,
        "sh",
        str(upper),
        str(work),
        hostname,
        *command,
    ]


def _ready(probe: dict[str, Any], container: dict[str, Any], ip: str) -> bool:
    """One readiness check: the probe's (tcpSocket, httpGet), else whether
    the first container port accepts a connection (no port: ready)."""
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}

    def port_of(value: Any) -> int:
        return int(ports.get(value, value))

    if "httpGet" in probe:
        get = probe["httpGet"]
        url = f"http://{ip}:{port_of(get['port'])}{get.get('path') or '/'}"
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return 200 <= answer.status < 400
        except urllib.error.HTTPError as error:
            return 200 <= error.code < 400
        except OSError:
            return False
    if "tcpSocket" in probe:
        port = port_of(probe["tcpSocket"]["port"])
    elif ports:
        port = next(iter(ports.values()))
    else:
        return True
    try:
        with socket.create_connection((ip, port), timeout=1):
            return True
    except OSError:
        return False


def _inside(root: Path, path: str) -> Path:
    """``path`` of the container, below ``root``; never outside it."""
    parts = [p for p in Path("/", path).parts[1:] if p not in ("", ".")]
    if ".." in parts:
        raise PodError(f"path {path!r} leaves the container")
    return root.joinpath(*parts)


def _projected(
    data: dict[str, bytes], source: dict[str, Any]
) -> dict[str, tuple[bytes, int]]:
    """path -> (content, mode) of a secret or configMap volume."""
    mode = source.get("defaultMode", 0o644)
    if not source.get("items"):
        return {key: (value, mode) for key, value in data.items()}
    files = {}
    for item in source["items"]:
        if item["key"] not in data:
            if source.get("optional"):
                continue
            raise PodError(f"no key {item['key']}")
        files[item["path"]] = (data[item["key"]], item.get("mode", mode))
    return files


def _write(path: Path, content: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)


def _stop(pod: RunningPod) -> None:
    """SIGTERM the pod's process group, SIGKILL it after GRACE_SECONDS."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pod.process.pid, signal.SIGTERM)
    try:
        pod.process.wait(GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pod.process.pid, signal.SIGKILL)
        pod.process.wait(GRACE_SECONDS)
    _end_group(pod)
    _release(pod.ip, pod.ports)


def _end_group(pod: RunningPod) -> None:
    """SIGKILL what is left of the pod's process group (a hub's proxy, say):
    a container's processes do not outlive its main one."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pod.process.pid, signal.SIGKILL)


def _release(ip: str, ports: list[int]) -> None:
    for port in ports:
        release(ip, port)


def _running(ip: str, pod: dict[str, Any], ready: bool = True) -> dict[str, Any]:
    names = [c["name"] for c in pod["spec"]["containers"]]
    state = "True" if ready else "False"
    return {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "hostIP": "127.0.0.1",
        "startTime": _now(),
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": _now()},
            {"type": "Initialized", "status": "True", "lastTransitionTime": _now()},
            {"type": "ContainersReady", "status": state, "lastTransitionTime": _now()},
            {"type": "Ready", "status": state, "lastTransitionTime": _now()},
        ],
        "containerStatuses": [
            {
                "name": name,
                "ready": ready,
                "started": True,
                "restartCount": 0,
                "image": "",
                "imageID": "",
                "state": {"running": {"startedAt": _now()}},
            }
            for name in names
        ],
    }


def _terminated(ip: str, code: int) -> dict[str, Any]:
    return {
        "phase": "Succeeded" if code == 0 else "Failed",
        "podIP": ip,
        "hostIP": "127.0.0.1",
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [
            {
                "name": "notebook",
                "ready": False,
                "restartCount": 0,
                "image": "",
                "imageID": "",
                "state": {"terminated": {"exitCode": code, "finishedAt": _now()}},
            }
        ],
    }


def _waiting(message: str) -> dict[str, Any]:
    return {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "message": message}],
    }


@contextlib.contextmanager
def node(api: KubeAPI, root: Path, programs: Path | None = None) -> Iterator[Kubelet]:
    """A kubelet for ``api`` whose pods all end when the block does."""
    kubelet = Kubelet(api, root, programs)
    try:
        yield kubelet
    finally:
        kubelet.close()
