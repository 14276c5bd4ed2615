"""The hub's spawn hooks: resources, SSH key Secret, quota, what the notebook is told.

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

from . import metrics
from .launch_resources import (
    RECORD_KEY,
    LaunchRefused,
    LaunchResources,
    RepositoryResources,
)
from .policy import ResourcePolicy
from .profile import apply_settings, kubespawner_settings
from .quota import ServerQuota, active_servers
from .ssh_keys import SSHKeyError, SSHKeys

#: Tells the notebook where its resources came from (file or defaults, and why).
SOURCE_VARIABLE = "BINDERHUB_RESOURCES_SOURCE"


class SpawnHook:
    """Everything the hook needs, built once per hub configuration."""

    def __init__(self, config: Config):
        self.policy = ResourcePolicy(config=config)
        self.resources = RepositoryResources(config=config)
        self.ssh_keys = SSHKeys(config=config)
        self.quota = ServerQuota(config=config)
        self.seconds: list[float] = []

    async def __call__(self, spawner: Any) -> None:
        await self.prepare(spawner)

    async def prepare(self, spawner: Any, ensure_key: bool = True) -> None:
        """Set this launch's resources on ``spawner``; make its key if asked.

        ``ensure_key=False`` is for previews: no Kubernetes API is called.
        """
        started = time.perf_counter()
        try:
            self.quota.check(spawner)
            groups = [group.name for group in getattr(spawner.user, "groups", [])]
            policy = self.policy.for_groups(groups)
            options = dict(spawner.user_options or {})
            options.pop(RECORD_KEY, None)
            launch = await self.resources.for_launch(options, policy)
            check_totals(spawner, launch.resources, policy)
            public_key = await self._ensure_key(spawner) if ensure_key else ""
        except LaunchRefused as refused:
            metrics.LAUNCHES.labels("refused").inc()
            metrics.REFUSALS.labels(refused.why).inc()
            raise  # the hub stops the server; post_stop_hook removes it if new
        settings = kubespawner_settings(launch.resources, policy)
        settings.setdefault("environment", {})[SOURCE_VARIABLE] = launch.explanation
        spawner.log.info("Resources for %s: %s", spawner._log_name, launch.explanation)
        apply_settings(spawner, settings)
        record(spawner, options, launch, public_key)
        metrics.LAUNCHES.labels(launch.origin).inc()
        self.seconds.append(time.perf_counter() - started)

    async def _ensure_key(self, spawner: Any) -> str:
        """The user's public key, after making sure their key Secret exists."""
        name = spawner._expand_user_properties(self.ssh_keys.secret_name_template)
        try:
            outcome = await self.ssh_keys.ensure_secret(
                shared_client("CoreV1Api"),
                spawner.namespace,
                name,
                spawner.user.name,
                safe_slug(spawner.user.name, is_valid=is_valid_label),
            )
            return outcome.public_key
        except SSHKeyError as error:
            raise LaunchRefused(
                f"Launch refused: your SSH key could not be prepared ({error}). "
                "Nothing was lost; try again in a moment.",
                "ssh_key",
            ) from None


def record(
    spawner: Any, options: dict[str, Any], launch: LaunchResources, public_key: str
) -> None:
    """Keep this launch's resources, and the user's public SSH key, with its
    user_options (saved in the hub database; the hub pages read them)."""
    resources = launch.resources
    options[RECORD_KEY] = {
        "cpu_guarantee": resources.cpu_guarantee.value,
        "cpu_limit": resources.cpu_limit.value,
        "mem_guarantee_gb": resources.mem_guarantee.value,
        "mem_limit_gb": resources.mem_limit.value,
        "gpu": resources.gpu.value,
        "origin": launch.origin,
        "explanation": launch.explanation,
        "ssh_public_key": public_key,
    }
    spawner.user_options = options
    spawner.orm_spawner.user_options = options


def check_totals(spawner: Any, resources: Any, policy: ResourcePolicy) -> None:
    """Refuse when this launch would take the user's running servers over a total."""
    limits = policy.checked()
    totals = {
        "cpu_limit": (limits.max_total_cpu, "CPU cores", "max_total_cpu"),
        "mem_limit_gb": (limits.max_total_mem, "GB of memory", "max_total_mem"),
        "gpu": (limits.max_total_gpu, "GPUs", "max_total_gpu"),
    }
    asked = {
        "cpu_limit": resources.cpu_limit.value,
        "mem_limit_gb": resources.mem_limit.value,
        "gpu": resources.gpu.value,
    }
    if not any(total for total, _, _ in totals.values()):
        return
    used = dict.fromkeys(totals, 0.0)
    for name in active_servers(spawner.user, exclude=spawner.name):
        orm_spawner = spawner.user.orm_user.orm_spawners[name]
        recorded = (orm_spawner.user_options or {}).get(RECORD_KEY) or {}
        for key in used:
            used[key] += float(recorded.get(key) or 0)
    for key, (total, unit, trait) in totals.items():
        if total and used[key] + asked[key] > total:
            raise LaunchRefused(
                f"Launch refused: your running servers already use {used[key]:g} "
                f"{unit} and this one asks for {asked[key]:g}; together at most "
                f"{total:g} are allowed per user (ResourcePolicy.{trait}). Stop a "
                "server first, or ask for less in .resources.",
                "total",
            )


_hooks: dict[int, tuple[Config, SpawnHook]] = {}


def _hook(config: Config) -> SpawnHook:
    entry = _hooks.get(id(config))
    if entry is None or entry[0] is not config:
        entry = (config, SpawnHook(config))
        _hooks[id(config)] = entry
    return entry[1]


async def pre_spawn_hook(spawner: Any) -> None:
    """``KubeSpawner.pre_spawn_hook``: built on first use from the hub's config."""
    await _hook(spawner.config)(spawner)


def post_stop_hook(spawner: Any) -> None:
    """``KubeSpawner.post_stop_hook``: a server whose first start failed goes.

    The hub stops a server whose start failed (refused by us, or an image
    that could not be pulled); if it never ran, nothing of it is kept.
    """
    _hook(spawner.config).quota.remove_if_new(spawner)


def hook_for(config: Config) -> SpawnHook | None:
    """The hook built for this configuration, once a launch has built it."""
    entry = _hooks.get(id(config))
    return entry[1] if entry and entry[0] is config else None
