"""The hub's pre-spawn hook: resources, SSH key Secret, and what the notebook is told.

JupyterHub awaits the hook before every start; an exception refuses the
launch and its message reaches the caller (BinderHub's page through the hub
API). Settings go on that one spawner, so a user's other servers keep theirs.
"""

from __future__ import annotations

import time
from typing import Any

from kubespawner.clients import shared_client
from kubespawner.slugs import is_valid_label, safe_slug
from traitlets.config import Config

from .launch_resources import LaunchRefused, RepositoryResources
from .policy import ResourcePolicy
from .profile import apply_settings, kubespawner_settings
from .ssh_keys import SSHKeyError, SSHKeys

#: Tells the notebook where its resources came from (file or defaults, and why).
SOURCE_VARIABLE = "BINDERHUB_RESOURCES_SOURCE"


class SpawnHook:
    """Everything the hook needs, built once per hub configuration."""

    def __init__(self, config: Config):
        self.policy = ResourcePolicy(config=config)
        self.resources = RepositoryResources(config=config)
        self.ssh_keys = SSHKeys(config=config)
        self.seconds: list[float] = []

    async def __call__(self, spawner: Any) -> None:
        await self.prepare(spawner)

    async def prepare(self, spawner: Any, ensure_key: bool = True) -> None:
        """Set this launch's resources on ``spawner``; make its key if asked.

        ``ensure_key=False`` is for previews: no Kubernetes API is called.
        """
        started = time.perf_counter()
        launch = await self.resources.for_launch(
            dict(spawner.user_options or {}), self.policy
        )
        settings = kubespawner_settings(launch.resources, self.policy)
        settings.setdefault("environment", {})[SOURCE_VARIABLE] = launch.explanation
        spawner.log.info(
            "Resources for %s/%s: %s",
            spawner.user.name,
            spawner.name,
            launch.explanation,
        )
        if ensure_key:
            await self._ensure_key(spawner)
        apply_settings(spawner, settings)
        self.seconds.append(time.perf_counter() - started)

    async def _ensure_key(self, spawner: Any) -> None:
        name = spawner._expand_user_properties(self.ssh_keys.secret_name_template)
        try:
            await self.ssh_keys.ensure_secret(
                shared_client("CoreV1Api"),
                spawner.namespace,
                name,
                spawner.user.name,
                safe_slug(spawner.user.name, is_valid=is_valid_label),
            )
        except SSHKeyError as error:
            raise LaunchRefused(
                f"Launch refused: your SSH key could not be prepared ({error}). "
                "Nothing was lost; try again in a moment."
            ) from None


_hooks: dict[int, tuple[Config, SpawnHook]] = {}


async def pre_spawn_hook(spawner: Any) -> None:
    """``KubeSpawner.pre_spawn_hook``: built on first use from the hub's config."""
    config = spawner.config
    entry = _hooks.get(id(config))
    if entry is None or entry[0] is not config:
        entry = (config, SpawnHook(config))
        _hooks[id(config)] = entry
    await entry[1](spawner)


def hook_for(config: Config) -> SpawnHook | None:
    """The hook built for this configuration, once a launch has built it."""
    entry = _hooks.get(id(config))
    return entry[1] if entry and entry[0] is config else None
