"""A pod of the rendered release, on this machine: its files, its environment,
and for the hub the configuration z2jh's own code makes of them.

The hub pod runs z2jh's ``jupyterhub_config.py``, which reads the release's
values from the hub Secret mounted under ``/usr/local/etc/jupyterhub/`` and
runs the binderhub chart's and our ``hub.extraConfig`` snippets. Here the
rendered Deployment's volume mounts are written below a folder that stands
for ``/`` (ConfigMap and Secret keys as files, ``subPath`` mounts as single
files), its environment is built as the kubelet builds it (``fieldRef``,
``secretKeyRef``, Service variables), and the only change to upstream code is
the one its fixed paths force: the absolute paths in z2jh's two files point
into that folder. No root, no mount namespace.

Used by ``make preview``, the tests and ``make demo``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from offline.chart import NAMESPACE, find

HUB_CONFIG_DIR = "/usr/local/etc/jupyterhub"
#: Files of z2jh that name fixed paths under HUB_CONFIG_DIR.
Z2JH_FILES = ("jupyterhub_config.py", "z2jh.py")
#: Modules a pod's copy of pyconfig shares with this process: Prometheus lets
#: a process register a metric name once, as in the hub, which loads one copy.
PROCESS_WIDE = ("pyconfig.hub.metrics",)
#: Where our snippet imports pyconfig from (PERSISTENT_BINDERHUB_PATH's default).
PYCONFIG_PARENT = "/usr/local/etc/persistent-binderhub"


@dataclass
class PodOnDisk:
    """A container's view of the pod: files under ``root``, and its environment."""

    root: Path
    env: dict[str, str]
    args: list[str]
    #: Secret references the render does not hold (the admin creates them).
    external_secrets: list[str] = field(default_factory=list)

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def redirect(self, relative_files: list[str], prefix: str) -> None:
        """Point a file's absolute paths under ``prefix`` into ``root``."""
        for name in relative_files:
            target = self.path(prefix) / name
            text = target.read_text(encoding="utf-8")
            target.write_text(
                text.replace(prefix, str(self.path(prefix))), encoding="utf-8"
            )


def _secret_data(secret: dict[str, Any]) -> dict[str, bytes]:
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    data.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
    return data


def _volume_files(volume: dict[str, Any], objects: list[dict]) -> dict[str, bytes]:
    """path -> content of a configMap, secret or projected volume.

    As the kubelet does: ``items`` project only the listed keys, at their
    paths (which may hold folders); a listed key the object lacks fails the
    pod (here: KeyError), unless the source is ``optional``.
    """
    if "projected" in volume:
        files: dict[str, bytes] = {}
        for source in volume["projected"].get("sources") or []:
            files.update(_volume_files(source, objects))
        return files
    if "configMap" in volume:
        source = volume["configMap"]
        obj = find(objects, "ConfigMap", source["name"])
        data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
    elif "secret" in volume:
        source = volume["secret"]
        name = source.get("secretName") or source["name"]  # volume or projection
        data = _secret_data(find(objects, "Secret", name))
    else:
        return {}
    if source.get("items"):
        return {
            item["path"]: data[item["key"]]
            for item in source["items"]
            if item["key"] in data or not source.get("optional")
        }
    return data


def _env_value(
    entry: dict[str, Any], objects: list[dict], namespace: str, missing: list[str]
) -> str | None:
    if "value" in entry:
        return str(entry["value"])
    source = entry.get("valueFrom") or {}
    if "fieldRef" in source:
        path = source["fieldRef"]["fieldPath"]
        return {"metadata.namespace": namespace}.get(path)
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        try:
            return _secret_data(find(objects, "Secret", ref["name"]))[
                ref["key"]
            ].decode()
        except KeyError:
            if not ref.get("optional"):
                missing.append(f"{ref['name']}/{ref['key']}")
                return f"(from Secret {ref['name']}, key {ref['key']})"
            return None
    return None


def materialize(
    objects: list[dict[str, Any]],
    kind: str,
    name: str,
    container: str,
    root: Path,
    namespace: str = NAMESPACE,
) -> PodOnDisk:
    """Write what ``container`` of ``kind/name`` (a Pod, or a workload with
    a pod template) sees into ``root``."""
    spec = find(objects, kind, name)["spec"]
    spec = spec if kind == "Pod" else spec["template"]["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    [box] = [c for c in spec["containers"] if c["name"] == container]
    for mount in box.get("volumeMounts") or []:
        files = _volume_files(volumes[mount["name"]], objects)
        target = root / mount["mountPath"].lstrip("/")
        if mount.get("subPath"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[mount["subPath"]])
            continue
        target.mkdir(parents=True, exist_ok=True)
        for path, content in files.items():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            (target / path).write_bytes(content)
    env: dict[str, str] = {}
    for service in (o for o in objects if o["kind"] == "Service"):
        prefix = service["metadata"]["name"].upper().replace("-", "_")
        ports = service["spec"].get("ports") or []
        env[f"{prefix}_SERVICE_HOST"] = "127.0.0.1"
        if ports:
            env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
    missing: list[str] = []
    for entry in box.get("env") or []:
        value = _env_value(entry, objects, namespace, missing)
        if value is not None:
            env[entry["name"]] = value
    args = [*(box.get("command") or []), *(box.get("args") or [])]
    return PodOnDisk(root, env, args, missing)


def hub_pod(objects: list[dict[str, Any]], root: Path) -> PodOnDisk:
    """The hub container of the release, with z2jh's fixed paths redirected."""
    pod = materialize(objects, "Deployment", "hub", "hub", root)
    pod.redirect(list(Z2JH_FILES), HUB_CONFIG_DIR)
    pod.env["PERSISTENT_BINDERHUB_PATH"] = str(pod.path(PYCONFIG_PARENT))
    return pod


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _as_in(pod: PodOnDisk, shared: tuple[str, ...] = ()) -> Iterator[None]:
    """Run with the pod's environment and a fresh import of its modules
    (but those named in ``shared``, which stay this process's own)."""
    saved_path = list(sys.path)
    ours = tuple(m for m in ("z2jh", "pyconfig") if m not in shared)

    def pods_own(name: str) -> bool:
        return name.split(".")[0] in ours and name not in PROCESS_WIDE

    saved_modules = {n: m for n, m in sys.modules.items() if pods_own(n)}
    for module in saved_modules:
        del sys.modules[module]
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient._save_configuration()
    try:
        with _environment(pod.env):
            yield
    finally:
        AsyncHTTPClient._restore_configuration(client)
        sys.path[:] = saved_path
        for module in [n for n in sys.modules if pods_own(n)]:
            del sys.modules[module]
        sys.modules.update(saved_modules)


def z2jh_config(
    pod: PodOnDisk, log: TextIO | None = None, own_pyconfig: bool = False
) -> Config:
    """What z2jh's jupyterhub_config.py makes of the pod, as JupyterHub loads it.

    What the files print ("Loading extra config: ...") goes to ``log``. With
    ``own_pyconfig`` our snippet imports this process's ``pyconfig`` (the
    same files the ConfigMap ships), so unit tests can look inside the hook
    the configuration uses; otherwise the pod's copy, as on the cluster.
    """
    folder = pod.path(HUB_CONFIG_DIR)
    loader = PyFileConfigLoader("jupyterhub_config.py", path=str(folder))
    shared: tuple[str, ...] = ()
    if own_pyconfig:
        import pyconfig

        shared = ("pyconfig",)
        pod = PodOnDisk(pod.root, dict(pod.env), pod.args, pod.external_secrets)
        pod.env["PERSISTENT_BINDERHUB_PATH"] = str(Path(pyconfig.__file__).parents[1])
    with _as_in(pod, shared), contextlib.redirect_stdout(log or io.StringIO()):
        return loader.load_config()


def build_spawner(config: Config, username: str, server: str) -> Any:
    """A spawner made as JupyterHub makes one: its app's Hub and spawner class,
    and a hub User on an in-memory database. Call inside an event loop."""
    from jupyterhub import orm
    from jupyterhub.app import JupyterHub
    from jupyterhub.user import User
    from kubespawner import KubeSpawner

    app = JupyterHub(config=config)
    app.init_hub()
    db = orm.new_session_factory("sqlite:///:memory:")()
    orm_user = orm.User(name=username)
    db.add(orm_user)
    db.commit()
    settings = {
        # KubeSpawner unless configured (z2jh sets it; bare test configs do not)
        "spawner_class": app.spawner_class
        if "spawner_class" in config.JupyterHub
        else KubeSpawner,
        "hub": app.hub,
        "config": config,
        "allow_named_servers": True,
        "domain": "",
    }
    return User(orm_user, settings=settings).spawners[server]


class ManifestsTaken(Exception):
    """Raised where KubeSpawner would create the pod: the launch ends here."""


def manifest_only(spawner_class: type) -> type:
    """``spawner_class`` with only KubeSpawner's cluster calls replaced.

    Everything above KubeSpawner in its class order still runs (the binderhub
    chart's BinderSpawnerMixin.start sets the launched image); where
    KubeSpawner.start would create the claim and the pod, this keeps their
    manifests in the class's ``taken`` (by server name) and ends the launch
    (ManifestsTaken).
    """
    from kubespawner import KubeSpawner

    class ManifestOnly(KubeSpawner):
        taken: dict[str, dict[str, Any]] = {}  # noqa: RUF012 - one per class

        async def start(self):  # type: ignore[override]
            pod = await self.get_pod_manifest()
            pvc = self.get_pvc_manifest() if self.storage_pvc_ensure else None
            type(self).taken[self.name] = {"pod": pod, "pvc": pvc}
            raise ManifestsTaken(self.name)

        async def poll(self):  # type: ignore[override]
            return 0  # nothing runs

        async def stop(self, now=False):  # type: ignore[override]
            return None

    return type(spawner_class.__name__, (spawner_class, ManifestOnly), {"taken": {}})


async def launch(
    config: Config, pod: PodOnDisk, username: str, server: str, options: dict[str, Any]
) -> Any:
    """Launch a named server as the hub does, up to KubeSpawner's first call
    to the cluster; the Pod and PVC manifests it would send are returned.

    A real JupyterHub app is initialized on ``config`` (its database in
    memory) and its own ``User.spawn`` runs: group overrides, user options,
    the pre-spawn hook, the spawner class's start. Only the spawner class is
    wrapped (manifest_only). The hub container's environment is set while
    it runs (the hub reads secrets such as the proxy token from it). Call
    inside an event loop.
    """
    from jupyterhub import orm
    from jupyterhub.app import JupyterHub

    config = copy.deepcopy(config)  # the caller's stays as the hub's
    config.JupyterHub.db_url = "sqlite://"
    spawner_class = manifest_only(config.JupyterHub.spawner_class)
    config.JupyterHub.spawner_class = spawner_class
    with _environment(pod.env):
        app = JupyterHub(config=config)
        await app.initialize([])
        orm_user = orm.User(name=username)
        app.db.add(orm_user)
        app.db.commit()
        user = app.users[orm_user]
        with contextlib.suppress(ManifestsTaken):
            await user.spawn(server, options)
    if server not in spawner_class.taken:
        raise RuntimeError(f"the launch of {username}/{server} ended before start")
    return spawner_class.taken[server]


def serialized(obj: Any) -> Any:
    """A kubernetes_asyncio model as the API receives it (camelCase JSON)."""
    from kubernetes_asyncio.client import ApiClient

    return ApiClient.__new__(ApiClient).sanitize_for_serialization(obj)


def config_for(
    values: dict[str, Any],
    root: Path,
    log: TextIO | None = None,
    objects: list[dict[str, Any]] | None = None,
) -> tuple[Config, PodOnDisk]:
    """The hub's configuration under a values file: render the release
    (unless ``objects`` is its render), lay out the hub pod in ``root``, run
    z2jh's jupyterhub_config.py on it."""
    from offline import chart

    if objects is None:
        objects = chart.manifests(chart.render(values))
    pod = hub_pod(objects, root)
    return z2jh_config(pod, log), pod


def registry_secret_standins(
    objects: list[dict[str, Any]], host: str, username: str, password: str
) -> list[dict[str, Any]]:
    """Stand-ins for the Secrets the binder pod mounts that the release does
    not hold, as `kubectl create secret docker-registry NAME
    --docker-server=HOST ...` makes them."""
    rendered = {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    spec = find(objects, "Deployment", "binder")["spec"]["template"]["spec"]
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    config = {"auths": {host: {"auth": auth}}}
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": volume["secret"]["secretName"]},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {
                ".dockerconfigjson": base64.b64encode(
                    json.dumps(config).encode()
                ).decode()
            },
        }
        for volume in spec.get("volumes") or []
        if "secret" in volume and volume["secret"]["secretName"] not in rendered
    ]


#: Where binderhub_config.py reads the chart's values from (a fixed path).
BINDER_CONFIG_DIR = "/etc/binderhub/config"


def binder_pod(
    objects: list[dict[str, Any]], root: Path, kubeconfig: Path
) -> tuple[PodOnDisk, dict[str, str], list[str]]:
    """The binder container of the release laid out in ``root``, with its
    environment and arguments: binderhub_config.py's fixed path and our
    snippet's pyconfig point into ``root``, as do values that name a path
    under one of its mounts (``--config``, ``DOCKER_CONFIG``); ``HOME`` is
    the folder's /root (the container runs as root); ``KUBECONFIG`` is
    ``kubeconfig``."""
    pod = materialize(objects, "Deployment", "binder", "binder", root)
    pod.redirect(["binderhub_config.py"], BINDER_CONFIG_DIR)
    pod.env["PERSISTENT_BINDERHUB_PATH"] = str(pod.path(PYCONFIG_PARENT))
    spec = find(objects, "Deployment", "binder")["spec"]["template"]["spec"]
    [container] = [c for c in spec["containers"] if c["name"] == "binder"]
    mounts = [m["mountPath"].rstrip("/") for m in container.get("volumeMounts") or []]

    def in_pod(value: str) -> str:
        under = any(value == m or value.startswith(m + "/") for m in mounts)
        return str(pod.path(value)) if under else value

    env = {name: in_pod(value) for name, value in pod.env.items()}
    env["HOME"] = str(pod.path("/root"))
    env["KUBECONFIG"] = str(kubeconfig)
    return pod, env, [in_pod(arg) for arg in pod.args]
