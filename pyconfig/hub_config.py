"""Install Persistent BinderHub into a hub configuration: ``configure(c)``.

Called from the chart's short ``hub.extraConfig`` snippet, after z2jh and the
binderhub chart have filled ``c``. Everything is merged into what is already
there (volumes, mounts, environment, an admin's own pre-spawn hook), and all
that must hold even when no launch runs the hook - the shared claim's name,
``delete_pvc`` off - is set here, on the configuration, because JupyterHub
deletes servers through spawners built from configuration alone.
"""

from __future__ import annotations

from typing import Any

from traitlets.config import Config

from .spawn_hook import pre_spawn_hook
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


def _merge_named(current: Any, ours: dict[str, Any]) -> dict[str, Any]:
    """Our entries added to a KubeSpawner volumes/mounts value (list or dict)."""
    if isinstance(current, list):
        # Keys sort before ours and keep the list's order.
        current = {f"00-{index:03d}": item for index, item in enumerate(current)}
    return {**(current or {}), **ours}


def _chained(existing: Any):
    """Our hook, after an admin's own hook if there is one."""
    if existing is None or existing is pre_spawn_hook:
        return pre_spawn_hook
    if getattr(existing, "runs_persistent_binderhub", False):
        return existing  # configure() ran before: ours is already in the chain

    async def both(spawner: Any) -> None:
        result = existing(spawner)
        if hasattr(result, "__await__"):
            await result
        await pre_spawn_hook(spawner)

    both.runs_persistent_binderhub = True
    return both
