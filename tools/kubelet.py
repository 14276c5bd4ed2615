"""The node of the loopback cluster: pods of tools.kube_api.KubeAPI as processes.

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
  by every pod that mounts it (the container path is a link to it); a
  Secret's or ConfigMap's keys become files, with ``items``, ``subPath``
  and ``defaultMode`` as the kubelet applies them;
- the notebook server's file root is the pod's ``/`` (an argument added:
  ``--ServerApp.root_dir``), so the contents API sees the container's
  paths, e.g. ``home/{username}-nfs-pvc``;
- the pod is Running and Ready once its process runs, Failed when the
  process ends by itself, and deleting the pod ends the process.

What is not simulated: images (every pod runs this machine's Python),
resource limits, users and groups (the process runs as this machine's user,
not the pod's ``runAsUser``: this Python lives where uid 1000 cannot read
it; as root, ``--ServerApp.allow_root`` is added), and the network
(loopback only).
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.kube_api import KubeAPI
from tools.lifetime import bound_to_parent
from tools.ports import release, reserve

#: Seconds a stopped pod's process gets to end after SIGTERM, before SIGKILL.
GRACE_SECONDS = 5.0
#: This node's name: pods bound to any other node are not run here.
NODE_NAME = "loopback"
#: The most pods one node runs at once (addresses 127.0.1.1 .. 127.0.N.250).
MAX_PODS = 250 * 8


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
    #: The ports reserved for it on ``ip`` (tools/ports.py).
    ports: list[int]


class Kubelet:
    """Runs the API's pods as local processes, below ``root``."""

    def __init__(self, api: KubeAPI, root: Path) -> None:
        self.api = api
        self.root = root
        self.pods: dict[tuple[str, str], RunningPod] = {}
        #: False: new pods stay Pending, as on a node that cannot start them
        #: (no capacity, an image that never pulls); for the fault tests.
        self.start_pods = True
        self._lock = threading.Lock()
        #: Pod processes are started from this one long-lived thread: each
        #: is killed when the thread that started it ends (tools/lifetime.py),
        #: so all of them end with the node, even if it is SIGKILLed.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="kubelet-spawn")
        #: Pods being stopped after a delete; close() waits for them.
        self._stopping: set[threading.Thread] = set()
        self._closed = False
        # Each node starts at its own place, so nodes of processes that run
        # at once (a test and `make demo`) rarely try the same address.
        start = random.randrange(MAX_PODS)
        every = [
            f"127.0.{block}.{host}"
            for block, host in itertools.product(range(1, 9), range(1, 251))
        ]
        self._addresses = iter(every[start:] + every[:start])
        api.subscribe(self._on_event)

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

    def _start(self, pod: dict[str, Any]) -> None:
        namespace = pod["metadata"]["namespace"]
        name = pod["metadata"]["name"]
        try:
            running = self._run(pod)
        except PodError as error:
            self._set_status(namespace, name, _waiting(str(error)))
            self._event_for(pod, "FailedMount", str(error))
            return
        except RuntimeError:  # the node closed meanwhile: its spawner is gone
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self.pods[(namespace, name)] = running
        # Closed, or the pod deleted (perhaps made anew) while it started: its
        # DELETED event found no process to stop, so stop this one now.
        stored = self.api.get("pods", namespace, name)
        uid = pod["metadata"].get("uid")
        if closed or stored is None or stored["metadata"].get("uid") != uid:
            with self._lock:
                if self.pods.get((namespace, name)) is running:
                    del self.pods[(namespace, name)]
            _stop(running)
            return
        self._set_status(namespace, name, _running(running.ip, pod))
        threading.Thread(target=self._watch_exit, args=(running,), daemon=True).start()

    def _watch_exit(self, pod: RunningPod) -> None:
        code = pod.process.wait()
        with self._lock:
            mine = self.pods.get((pod.namespace, pod.name)) is pod
            if mine:
                del self.pods[(pod.namespace, pod.name)]
        if mine:  # ended by itself, not by a delete
            _release(pod.ip, pod.ports)
            self._set_status(pod.namespace, pod.name, _terminated(pod.ip, code))

    def _event_for(self, pod: dict[str, Any], reason: str, message: str) -> None:
        """A Warning Event on the pod, as the kubelet records one (KubeSpawner
        shows a pod's events in the launch's progress)."""
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
            "type": "Warning",
            "firstTimestamp": _now(),
            "lastTimestamp": _now(),
            "count": 1,
            "source": {"component": "kubelet"},
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
            self._mount(namespace, volumes[mount["name"]], mount, root)
        env = self._environment(namespace, pod, container, ip)
        workdir = _inside(root, container.get("workingDir") or "/home/jovyan")
        workdir.mkdir(parents=True, exist_ok=True)
        env.setdefault("HOME", str(_inside(root, "/home/jovyan")))
        command = self._command(container, ip, root)
        log = root.parent / f"{namespace}-{name}.log"
        with log.open("wb") as out:
            process = self._spawner.submit(
                subprocess.Popen,
                bound_to_parent(command),
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop ends all of it
            ).result()
        return RunningPod(namespace, name, ip, root, process, log, ports)

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

    def _command(self, container: dict[str, Any], ip: str, root: Path) -> list[str]:
        """The container's command and args, its programs from this Python's
        environment, listening on the pod's address, files rooted at its /."""
        words = [*(container.get("command") or []), *(container.get("args") or [])]
        if not words:
            raise PodError("the container has no command (images are not simulated)")
        program = shutil.which(words[0], path=str(Path(sys.executable).parent))
        if program is None:
            raise PodError(f"{words[0]} is not installed here")
        args = [a for a in words[1:] if not a.startswith(("--ip=", "--ip "))]
        added = [f"--ip={ip}", f"--ServerApp.root_dir={root}"]
        if os.geteuid() == 0:  # users are not simulated; CI runs as root
            added.append("--ServerApp.allow_root=True")
        return [program, *args, *added]

    def _environment(
        self, namespace: str, pod: dict[str, Any], container: dict[str, Any], ip: str
    ) -> dict[str, str]:
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
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
                data = self._data(
                    namespace, "secrets", ref["name"], ref.get("optional")
                )
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
                raise PodError(f'persistentvolumeclaim "{claim}" not found')
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
            raise PodError(f'{resource[:-1]} "{name}" not found')
        if resource == "secrets":
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            for key, value in (obj.get("stringData") or {}).items():
                data[key] = value.encode()
            return data
        return {k: v.encode() for k, v in (obj.get("data") or {}).items()}

    def claim_folder(self, namespace: str, claim: str) -> Path:
        """The folder that holds a claim's files (made on first use)."""
        folder = self.root / "claims" / f"{namespace}-{claim}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def pod_root(self, namespace: str, name: str) -> Path:
        return self.root / "pods" / f"{namespace}-{name}"

    def close(self) -> None:
        """End every pod's process (what the node's shutdown does), at once:
        the pods' grace periods run side by side, as a node's do."""
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
    _release(pod.ip, pod.ports)


def _release(ip: str, ports: list[int]) -> None:
    for port in ports:
        release(ip, port)


def _running(ip: str, pod: dict[str, Any]) -> dict[str, Any]:
    names = [c["name"] for c in pod["spec"]["containers"]]
    return {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "hostIP": "127.0.0.1",
        "startTime": _now(),
        "conditions": [
            {"type": kind, "status": "True", "lastTransitionTime": _now()}
            for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ],
        "containerStatuses": [
            {
                "name": name,
                "ready": True,
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
def node(api: KubeAPI, root: Path) -> Iterator[Kubelet]:
    """A kubelet for ``api`` whose pods all end when the block does."""
    kubelet = Kubelet(api, root)
    try:
        yield kubelet
    finally:
        kubelet.close()
