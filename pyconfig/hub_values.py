"""The hub configuration a values file produces, computed the way z2jh does it.

For admins and CI, not the hub: ``python -m pyconfig preview`` and the chart
tests use it to see, without a cluster, what the hub would be configured with.
The order is z2jh 4.2.0's (../shared/FACTS.md, section 2): settings derived
from the chart values, then ``hub.config`` section by section, then each
``hub.extraConfig`` snippet in sorted key order, run with ``c`` and
``get_config``. Only the chart-derived settings that a launch depends on are
derived here (z2jh's own code is not ours to copy): user, group, CPU, memory,
command, image, environment, named servers, culling.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from traitlets.config import Config

#: binderhub's own snippets. Where its code is not at hand (the data in
#: ../shared/upstream has placeholders), STAND_IN takes their place.
BINDERHUB_SNIPPETS = ("0-binderspawnermixin", "00-binder")

STAND_IN = '''
from kubespawner import KubeSpawner

class BinderSpawner(KubeSpawner):
    """Stand-in for binderhub's BinderSpawner: the launched image runs."""

    async def start(self):
        if self.user_options.get("image"):
            self.image = self.user_options["image"]
        return await super().start()

c.JupyterHub.spawner_class = BinderSpawner
'''


class SnippetError(RuntimeError):
    """A hub.extraConfig snippet failed; the message names it."""


def deep_merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge: later layers win, maps merge key by key, null deletes."""
    result: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if value is None:
                result.pop(key, None)
            elif isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = deep_merge(result[key], value)
            else:
                result[key] = copy.deepcopy(value)
    return result


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def effective_values(
    values: dict[str, Any], chart_dir: Path | None, upstream_dir: Path | None
) -> dict[str, Any]:
    """The jupyterhub values the hub sees.

    z2jh defaults <- the binderhub chart's ``jupyterhub:`` defaults <- this
    chart's ``binderhub.jupyterhub`` (its values.yaml, then ``values``).
    """
    layers = []
    if upstream_dir is not None:
        layers.append(
            _load(upstream_dir / "jupyterhub-chart-4.2.0.default-values.yaml")
        )
        binderhub = _load(upstream_dir / "binderhub-chart.default-values.yaml")
        layers.append(binderhub.get("jupyterhub") or {})
    ours = deep_merge(_load(chart_dir / "values.yaml") if chart_dir else {}, values)
    layers.append((ours.get("binderhub") or {}).get("jupyterhub") or {})
    return deep_merge(*layers)


def _get(values: dict[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def chart_derived(c: Config, jh: dict[str, Any]) -> None:
    """The settings z2jh derives from chart values that launches depend on."""
    spawner = c.KubeSpawner
    single = jh.get("singleuser") or {}
    for key, trait in (("uid", "uid"), ("fsGid", "fs_gid")):
        if single.get(key) is not None:
            spawner[trait] = single[key]
    for kind, prefix in (("cpu", "cpu"), ("memory", "mem")):
        for bound in ("guarantee", "limit"):
            value = _get(single, f"{kind}.{bound}")
            if value is not None:
                spawner[f"{prefix}_{bound}"] = value
    if single.get("cmd"):
        spawner.cmd = single["cmd"]
    image = single.get("image") or {}
    if image.get("name"):
        spawner.image = f"{image['name']}:{image.get('tag') or 'latest'}"
    plain_env = {
        k: v for k, v in (single.get("extraEnv") or {}).items() if isinstance(v, str)
    }
    if plain_env:
        spawner.environment = plain_env
    if single.get("nodeSelector"):
        spawner.node_selector = dict(single["nodeSelector"])
    if single.get("serviceAccountName"):
        spawner.service_account = single["serviceAccountName"]
    hub = jh.get("hub") or {}
    c.JupyterHub.allow_named_servers = bool(hub.get("allowNamedServers"))
    if hub.get("namedServerLimitPerUser") is not None:
        c.JupyterHub.named_server_limit_per_user = hub["namedServerLimitPerUser"]
    if hub.get("redirectToServer") is not None:
        c.JupyterHub.redirect_to_server = hub["redirectToServer"]
    cull = jh.get("cull") or {}
    if cull.get("enabled"):
        command = [
            "python3", "-m", "jupyterhub_idle_culler",
            f"--timeout={cull.get('timeout', 3600)}",
            f"--cull-every={cull.get('every', 600)}",
        ]  # fmt: skip
        if cull.get("users"):
            command.append("--cull-users")
        if cull.get("removeNamedServers"):
            command.append("--remove-named-servers")
        if cull.get("maxAge"):
            command.append(f"--max-age={cull['maxAge']}")
        c.JupyterHub.services = [{"name": "cull-idle", "command": command}]


def hub_config(jh: dict[str, Any], pyconfig_parent: Path | None = None) -> Config:
    """Run the configuration steps in z2jh's order; the result is the hub's ``c``.

    ``pyconfig_parent`` is where the snippet finds ``pyconfig`` (the folder
    the chart mounts); default: this package's own parent.
    """
    c = Config()
    chart_derived(c, jh)
    for section, traits in ((jh.get("hub") or {}).get("config") or {}).items():
        c[section].update(traits)

    def get_config(key: str, default: Any = None) -> Any:
        return _get(jh, key, default)

    parent = pyconfig_parent or Path(__file__).resolve().parent.parent
    snippets = (jh.get("hub") or {}).get("extraConfig") or {}
    with _pyconfig_from(parent):
        namespace = {"c": c, "get_config": get_config, "os": os, "sys": sys}
        for key in sorted(snippets):
            code = snippets[key]
            if key in BINDERHUB_SNIPPETS and code.lstrip().startswith("<"):
                code = STAND_IN if key == BINDERHUB_SNIPPETS[-1] else ""
            try:
                exec(compile(code, f"<hub.extraConfig.{key}>", "exec"), namespace)
            except Exception as error:
                raise SnippetError(
                    f"hub.extraConfig.{key} failed: {type(error).__name__}: {error}"
                ) from error
    return c


@contextmanager
def _pyconfig_from(parent: Path) -> Iterator[None]:
    """Make the snippet import ``pyconfig`` from ``parent``, then restore ours."""
    saved = {n: m for n, m in sys.modules.items() if n.split(".")[0] == "pyconfig"}
    old_path = os.environ.get("PERSISTENT_BINDERHUB_PATH")
    os.environ["PERSISTENT_BINDERHUB_PATH"] = str(parent)
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] == "pyconfig"]:
            del sys.modules[name]
        sys.modules.update(saved)
        while str(parent) in sys.path:
            sys.path.remove(str(parent))
        if old_path is None:
            os.environ.pop("PERSISTENT_BINDERHUB_PATH", None)
        else:
            os.environ["PERSISTENT_BINDERHUB_PATH"] = old_path


def build_spawner(config: Config, username: str, server: str) -> Any:
    """A spawner made as JupyterHub makes one: a hub User on an in-memory database.

    Uses the configured ``JupyterHub.spawner_class``. Call inside an event loop.
    """
    from jupyterhub import orm
    from jupyterhub.objects import Hub
    from jupyterhub.user import User
    from kubespawner import KubeSpawner

    spawner_class = config.JupyterHub.get("spawner_class") or KubeSpawner
    db = orm.new_session_factory("sqlite:///:memory:")()
    orm_user = orm.User(name=username)
    db.add(orm_user)
    db.commit()
    settings = {
        "spawner_class": spawner_class,
        "hub": Hub(),
        "config": config,
        "allow_named_servers": True,
    }
    return User(orm_user, settings=settings).spawners[server]
