"""Install Persistent BinderHub into a hub configuration: ``configure(c)``.

Called from the chart's short ``hub.extraConfig`` snippet, after z2jh and the
binderhub chart have filled ``c``. Everything is merged into what is already
there (volumes, mounts, environment, an admin's own pre-spawn hook), and all
that must hold even when no launch runs the hook - the shared claim's name,
``delete_pvc`` off - is set here, on the configuration, because JupyterHub
deletes servers through spawners built from configuration alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyterhub.traitlets import ByteSpecification
from traitlets import TraitError
from traitlets.config import Config

from . import __version__
from .home_page import HomePage, page_data
from .hub_check import HEADER
from .policy import PolicyError
from .profile import BYTES_PER_GB
from .quota import ServerQuota
from .spawn_hook import SpawnHook, post_stop_hook, pre_spawn_hook
from .ssh_keys import SSHKeys
from .storage import UserStorage

#: The group notebook files belong to; the SSH key files are readable by it.
DEFAULT_FS_GID = 100


def configure(c: Config) -> None:
    """Add storage, SSH keys and the `.resources` hook to KubeSpawner's config."""
    spawner = c.KubeSpawner
    for part in (UserStorage(config=c), SSHKeys(config=c)):
        for trait, value in part.kubespawner_config().items():
            if trait in ("volumes", "volume_mounts"):
                spawner[trait] = _merge_named(spawner.get(trait), value)
            elif trait == "environment":
                spawner[trait] = {**(spawner.get(trait) or {}), **value}
            else:
                spawner[trait] = value
    if spawner.get("fs_gid") is None:
        spawner.fs_gid = DEFAULT_FS_GID
    spawner.pre_spawn_hook = _chained(spawner.get("pre_spawn_hook"))
    spawner.post_stop_hook = _chained(spawner.get("post_stop_hook"), post_stop_hook)
    _derive_policy_defaults(c)
    _take_over_quota(c)
    _validate(c)
    _home_page(c)
    # Tells `helm test` (pyconfig.hub_check) that this configuration loaded.
    settings = c.JupyterHub.get("tornado_settings") or {}
    headers = {**settings.get("headers", {}), HEADER: __version__}
    c.JupyterHub.tornado_settings = {**settings, "headers": headers}


#: ResourcePolicy defaults that follow KubeSpawner's (singleuser.cpu/memory in
#: the chart) unless the admin sets them on ResourcePolicy itself.
_DERIVED = {
    "default_cpu_guarantee": "cpu_guarantee",
    "default_cpu_limit": "cpu_limit",
    "default_mem_guarantee": "mem_guarantee",
    "default_mem_limit": "mem_limit",
}


def _home_page(c: Config) -> None:
    """Our home page template, fed by pyconfig.home_page.page_data."""
    here = str(Path(__file__).resolve().parent)
    paths = list(c.JupyterHub.get("template_paths") or [])
    c.JupyterHub.template_paths = [here, *(p for p in paths if p != here)]
    limit = ServerQuota(config=c).limit
    cull_timeout = _cull_timeout(c)
    mount_path = UserStorage(config=c).mount_path

    def persistent_binderhub(user: Any) -> HomePage | None:
        if user is None:
            return None
        storage = user.spawner._expand_user_properties(mount_path)
        now = datetime.now(UTC).replace(tzinfo=None)
        return page_data(user, limit, cull_timeout, storage, now)

    variables = dict(c.JupyterHub.get("template_vars") or {})
    variables["persistent_binderhub"] = persistent_binderhub
    c.JupyterHub.template_vars = variables


def _cull_timeout(c: Config) -> int:
    """The culler's --timeout, from the service z2jh configures (0: no culling)."""
    for service in c.JupyterHub.get("services") or []:
        for argument in service.get("command") or []:
            if str(argument).startswith("--timeout="):
                return int(str(argument).split("=", 1)[1])
    return 0


def _validate(c: Config) -> None:
    """Fail when the hub starts, not at a user's first launch, on bad settings."""
    try:
        SpawnHook(c).policy.check()
    except (TraitError, PolicyError) as error:
        raise ValueError(f"Persistent BinderHub configuration: {error}") from error


def _take_over_quota(c: Config) -> None:
    """ServerQuota counts active servers only; JupyterHub's check would count
    stopped ones too (and disagree with BinderHub), so it is switched off."""
    limit = c.JupyterHub.get("named_server_limit_per_user")
    if isinstance(limit, int) and "limit" not in c.ServerQuota:
        c.ServerQuota.limit = limit
    c.JupyterHub.named_server_limit_per_user = 0


def _derive_policy_defaults(c: Config) -> None:
    """One place for the defaults: the chart's singleuser.cpu and .memory."""
    for ours, theirs in _DERIVED.items():
        value = c.KubeSpawner.get(theirs)
        if ours in c.ResourcePolicy or value is None:
            continue
        if theirs.startswith("mem"):
            value = ByteSpecification().validate(None, value) / BYTES_PER_GB
        c.ResourcePolicy[ours] = float(value)


def _merge_named(current: Any, ours: dict[str, Any]) -> dict[str, Any]:
    """Our entries added to a KubeSpawner volumes/mounts value (list or dict)."""
    if isinstance(current, list):
        # Keys sort before ours and keep the list's order.
        current = {f"00-{index:03d}": item for index, item in enumerate(current)}
    return {**(current or {}), **ours}


def _chained(existing: Any, ours: Any = pre_spawn_hook):
    """Our hook, after an admin's own hook if there is one."""
    if existing is None or existing is ours:
        return ours
    if getattr(existing, "runs_persistent_binderhub", False):
        return existing  # configure() ran before: ours is already in the chain

    async def both(spawner: Any) -> None:
        for hook in (existing, ours):
            result = hook(spawner)
            if hasattr(result, "__await__"):
                await result

    both.runs_persistent_binderhub = True
    return both
