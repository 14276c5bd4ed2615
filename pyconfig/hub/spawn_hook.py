"""The hub's spawn hooks: resources, SSH key Secret, quota, what the notebook is told.

JupyterHub awaits the hook before every start; an exception refuses the
launch and its message reaches the caller (BinderHub's page through the hub
API). Settings go on that one spawner, so a user's other servers keep theirs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyterhub import orm
from kubernetes_asyncio.client.exceptions import ApiException
from kubespawner import KubeSpawner
from kubespawner.clients import shared_client
from kubespawner.slugs import is_valid_label, safe_slug
from sqlalchemy import event
from sqlalchemy.orm import object_session
from traitlets.config import Config

from ..resources.kubespawner_settings import apply_settings, kubespawner_settings
from ..resources.policy import ResourcePolicy
from ..resources.problems import with_unit
from . import metrics
from .launch_record import (
    RECORD_KEY,
    LaunchRecord,
    Usage,
    no_usage,
    usage_of,
)
from .namespace_quota import NamespaceQuota
from .quota import ASKED_POD, ServerQuota, settled_servers
from .refusal import LaunchRefused
from .repository_resources import LaunchResources, RepositoryResources
from .ssh_keys import KEY_VOLUME, NotOwned, SSHKeyError, SSHKeys
from .storage import ClaimError, UserStorage
from .upstream_apis import check_upstream_apis
from .user_names import server_slug

#: Tells the notebook where its resources came from (file or defaults, and why).
SOURCE_VARIABLE = "BINDERHUB_RESOURCES_SOURCE"
#: On an orm.Spawner: its user_options from before the hub replaced them with
#: a launch request's (see _remember_previous_options).
_PREVIOUS = "_persistent_binderhub_previous_options"


class SpawnHook:
    """Everything the hook needs, built once per hub configuration."""

    def __init__(self, config: Config):
        self.policy = ResourcePolicy(config=config)
        self.resources = RepositoryResources(config=config)
        self.ssh_keys = SSHKeys(config=config)
        self.storage = UserStorage(config=config)
        self.quota = ServerQuota(config=config)
        self.namespace_quota = NamespaceQuota(config=config)
        #: user name -> server name -> what its launch holds, from its
        #: checks until it is refused or the hub has started the server.
        self.reserved: dict[str, dict[str, Usage]] = {}
        self._watchers: set[asyncio.Task[None]] = set()

    async def __call__(self, spawner: Any) -> None:
        await self.prepare(spawner)

    async def prepare(self, spawner: Any, ensure_key: bool = True) -> None:
        """Set this launch's resources on ``spawner``; make its key if asked.

        ``ensure_key=False`` is for previews: no Kubernetes API is called.
        Parallel launches of a user each await the file and the key, so the
        quota slot is reserved in the same step as its check (before the
        first await), and the amounts in the same step as the totals check.
        A refused launch frees its reservation at once; a started one keeps
        it until the hub has started the server, when its record counts.
        """
        started = asyncio.get_running_loop().time()
        setattr(spawner, ASKED_POD, "")  # this launch's, not an earlier one's
        previous = vars(spawner.orm_spawner).pop(_PREVIOUS, None)
        reserved = self.reserved.setdefault(spawner.user.name, {})
        mine: Usage | None = None
        try:
            # First: whatever happens next (a late pod's deletion included)
            # acts on this user's own names, never on KubeSpawner's slug.
            self._name_objects(spawner)
            self.quota.cancel_removal(spawner)  # relaunched: it may yet run
            self.quota.check(spawner, reserved=_others(reserved, spawner.name))
            mine = reserved[spawner.name] = no_usage()
            groups = [group.name for group in getattr(spawner.user, "groups", [])]
            policy = self.policy.for_groups(groups)
            options = dict(spawner.user_options or {})
            options.pop(RECORD_KEY, None)
            launch = await self.resources.for_launch(
                options, policy, requester=_requesting_service(spawner)
            )
            check_totals(
                spawner, launch.resources, policy, _others(reserved, spawner.name)
            )
            mine.update(usage_of(launch.resources))
            public_key = ""
            if ensure_key:
                await self._check_claim(spawner)
                public_key = await self._ensure_key(spawner)
            settings = kubespawner_settings(launch.resources, policy)
            settings.setdefault("environment", {})[SOURCE_VARIABLE] = launch.explanation
            spawner.log.info(
                "Resources for %s:%s: %s",
                spawner.user.name,
                spawner.name,
                launch.explanation,
            )
            apply_settings(spawner, settings)
            if ensure_key:  # a launch, not a preview: the API may be called
                await self.namespace_quota.check(
                    shared_client("CoreV1Api"),
                    spawner.namespace,
                    spawner,
                    policy.snapshot().gpu_resource_name,
                    self.ssh_keys.request_timeout,
                )
            record(spawner, options, launch, public_key)
        except BaseException as error:
            self._release(spawner, mine)
            keep_record(spawner, previous)
            refused = isinstance(error, LaunchRefused)
            if refused:
                metrics.LAUNCHES.labels("refused").inc()
                metrics.REFUSALS.labels(error.why).inc()
            _observe(started, "refused" if refused else "failure")
            if refused:  # so that BinderHub reads why (ServerQuota.refusal_delay)
                await asyncio.sleep(self.quota.refusal_delay)
            raise  # the hub stops the server; post_stop_hook removes it if new
        # KubeSpawner asks for this pod next; its name is kept here, since
        # clear_state() at the stop sets pod_name back to the template's.
        setattr(spawner, ASKED_POD, spawner.pod_name)
        metrics.LAUNCHES.labels(launch.origin).inc()
        self._hold_while_starting(spawner, mine)
        _observe(started, "success")

    def _hold_while_starting(self, spawner: Any, usage: Usage) -> None:
        """Keep a started launch's reservation until the hub has started the
        server or given up; then its record counts (or nothing does)."""
        if not spawner.pending:  # not started by the hub (tests, previews)
            self._release(spawner, usage)
            return
        task = asyncio.get_running_loop().create_task(
            self._release_when_started(spawner, usage)
        )
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _release_when_started(self, spawner: Any, usage: Usage) -> None:
        try:
            while spawner.pending == "spawn":
                await asyncio.sleep(0.05)
        finally:
            self._release(spawner, usage)

    def _release(self, spawner: Any, usage: Usage | None) -> None:
        """Drop this launch's reservation, if still its own (a later launch
        of the same server holds a new one), and the user's entry if empty."""
        reserved = self.reserved.get(spawner.user.name, {})
        if usage is not None and reserved.get(spawner.name) is usage:
            del reserved[spawner.name]
        if not reserved:
            self.reserved.pop(spawner.user.name, None)

    def _name_objects(self, spawner: Any) -> None:
        """This launch's claim, key Secret, pod and mount path, named for the
        exact username (user_names.py), never KubeSpawner's shorter slug."""
        user, server = spawner.user.name, spawner.name or ""
        spawner.pvc_name = self.storage.claim_name(user)
        if spawner.pod_name_template == KubeSpawner.pod_name_template.default_value:
            spawner.pod_name = f"jupyter-{server_slug(user, server)}"
            spawner.dns_name = spawner.dns_name_template.format(
                namespace=spawner.namespace, name=spawner.pod_name
            )
        settings = self.storage.launch_settings(user, server)
        spawner.volume_mounts = _updated(
            spawner.volume_mounts, settings.pop("volume_mounts")
        )
        apply_settings(spawner, settings)
        self._mount_key_secret(spawner, self.ssh_keys.secret_name(user))

    def _mount_key_secret(self, spawner: Any, name: str) -> None:
        spawner.volumes = _updated(
            spawner.volumes,
            {
                KEY_VOLUME: {
                    "name": KEY_VOLUME,
                    "secret": {
                        "secretName": name,
                        "defaultMode": self.ssh_keys.file_mode,
                    },
                }
            },
        )

    async def _check_claim(self, spawner: Any) -> None:
        """Mount the user's own claim, or refuse: never another user's."""
        try:
            spawner.pvc_name = await self.storage.owned_claim(
                shared_client("CoreV1Api"),
                spawner.namespace,
                spawner.user.name,
                self.ssh_keys.request_timeout,
            )
        except ClaimError as error:
            spawner.log.warning(
                "Claim %s does not belong to %s (its hub.jupyter.org/username "
                "annotation names another user or none): launch refused",
                error,
                spawner.user.name,
            )
            raise LaunchRefused(
                f"Launch refused: the volume claim {error} of your user name "
                "belongs to another user, so nothing was mounted. Ask an "
                "administrator to look at it.",
                "storage",
            ) from None
        except (ApiException, TimeoutError) as error:
            status = getattr(error, "status", None) or "no answer"
            raise LaunchRefused(
                "Launch refused: your persistent volume could not be checked "
                f"(Kubernetes API: {status}). Nothing was lost; try again in a "
                "moment.",
                "storage",
            ) from None

    async def _ensure_key(self, spawner: Any) -> str:
        """The user's public key, after making sure their key Secret exists."""
        try:
            outcome = await self.ssh_keys.ensure_secret(
                shared_client("CoreV1Api"),
                spawner.namespace,
                spawner.user.name,
                safe_slug(spawner.user.name, is_valid=is_valid_label),
            )
        except NotOwned as error:
            raise LaunchRefused(
                f"Launch refused: the SSH key {error}, so nothing was mounted.",
                "ssh_key",
            ) from None
        except SSHKeyError as error:
            raise LaunchRefused(
                f"Launch refused: your SSH key could not be prepared ({error}). "
                "Nothing was lost; try again in a moment.",
                "ssh_key",
            ) from None
        self._mount_key_secret(spawner, outcome.name)
        return outcome.public_key


def _updated(entries: Any, update: dict[str, dict[str, Any]]) -> Any:
    """Volumes or mounts (a list, or a dict keyed by name) with the entries of
    ``update`` changed by their key, or in a list by their ``name``."""
    if isinstance(entries, dict):
        result = dict(entries)
        for key, change in update.items():
            result[key] = {**(result.get(key) or {}), **change}
        return result
    changes = {change["name"]: change for change in update.values()}
    return [
        {**item, **changes[item.get("name")]} if item.get("name") in changes else item
        for item in entries or []
    ]


def _observe(started: float, status: str) -> None:
    elapsed = asyncio.get_running_loop().time() - started
    metrics.HOOK_SECONDS.labels(status).observe(elapsed)


def _others(reserved: dict[str, Usage], name: str) -> dict[str, Usage]:
    return {other: usage for other, usage in reserved.items() if other != name}


def _requesting_service(spawner: Any) -> str | None:
    """The hub service that sent this launch: its name, "" when a user (not
    a service) sent it, None when no request did (the hub or a preview).

    JupyterHub hands the request's handler to the spawner; a service's token
    makes ``current_user`` an orm.Service, whose kind is "service".
    """
    handler = getattr(spawner, "handler", None)
    if handler is None:
        return None
    who = getattr(handler, "current_user", None)
    return who.name if getattr(who, "kind", None) == "service" else ""


def record(
    spawner: Any, options: dict[str, Any], launch: LaunchResources, public_key: str
) -> None:
    """Keep this launch's resources, and the user's public SSH key, with its
    user_options (saved in the hub database; the hub pages read them)."""
    LaunchRecord.of(
        launch.resources, launch.origin, launch.explanation, public_key
    ).store(options)
    _store_options(spawner, options)


def _store_options(spawner: Any, options: dict[str, Any]) -> None:
    """Write user_options as the hook's own (no previous value is kept)."""
    spawner.user_options = options
    spawner.orm_spawner.user_options = options
    vars(spawner.orm_spawner).pop(_PREVIOUS, None)


def keep_record(spawner: Any, previous: dict[str, Any] | None) -> None:
    """After a refusal: the server keeps the options it last ran with.

    The hub saved the refused request's user_options over them before the
    hook ran; ``previous`` is what was there (None when the hub did not
    replace them). A request's own record is never kept: only the hook
    writes records.
    """
    if previous is None:
        return
    if LaunchRecord.in_options(previous) is not None:
        _store_options(spawner, previous)
    else:
        options = dict(spawner.orm_spawner.user_options or {})
        if options.pop(RECORD_KEY, None) is None:
            return
        _store_options(spawner, options)
    # Now: the hub's failure path awaits before it commits, and a rollback
    # by any request meanwhile would bring the request's options back.
    session = object_session(spawner.orm_spawner)
    if session is not None:
        session.commit()


def _remember_previous_options(
    target: Any, value: Any, oldvalue: Any, initiator: Any
) -> None:
    """SQLAlchemy ``set`` listener on orm.Spawner.user_options: keep the old
    value on the instance, so a refused relaunch can put the record back."""
    setattr(target, _PREVIOUS, dict(oldvalue) if isinstance(oldvalue, dict) else {})


def listen_for_replaced_options() -> None:
    """Register the listener once; the hub does this by importing the module.
    Without the attribute (a newer jupyterhub), the hub stops saying so."""
    check_upstream_apis()
    attribute = orm.Spawner.user_options
    if not event.contains(attribute, "set", _remember_previous_options):
        event.listen(attribute, "set", _remember_previous_options, active_history=True)


listen_for_replaced_options()


def check_totals(
    spawner: Any,
    resources: Any,
    policy: ResourcePolicy,
    reserved: dict[str, Usage] | None = None,
) -> None:
    """Refuse when this launch would take the user's servers over a total.

    Counted: the user's other active servers by their record, and launches
    still in the hook (``reserved``) by what they reserved; their records
    are not written yet, or are what the request sent.
    """
    reserved = reserved or {}
    limits = policy.snapshot()
    totals = {
        "cpu_limit": (limits.max_total_cpu, "CPU cores", "max_total_cpu"),
        "mem_limit_gb": (limits.max_total_mem, "GB of memory", "max_total_mem"),
        "gpu": (limits.max_total_gpu, "GPUs", "max_total_gpu"),
    }
    asked = usage_of(resources)
    if not any(total for total, _, _ in totals.values()):
        return
    used = dict.fromkeys(totals, 0.0)
    for usage in _usages(spawner, reserved):
        for key in used:
            used[key] += usage.get(key, 0.0)
    for key, (total, unit, trait) in totals.items():
        if total and used[key] + asked[key] > total:
            raise LaunchRefused(
                "Launch refused: your running servers already use "
                f"{with_unit(f'{used[key]:g}', unit)} and this one asks for "
                f"{asked[key]:g}; together at most {total:g} are allowed per user "
                f"(ResourcePolicy.{trait}). Stop a "
                "server first, or ask for less in .resources.",
                "total",
            )


def _usages(spawner: Any, reserved: dict[str, Usage]) -> list[Usage]:
    """What each of the user's other servers holds (reservation, else record)."""
    usages = list(reserved.values())
    for name in settled_servers(spawner.user, exclude=spawner.name):
        if name in reserved:
            continue
        orm_spawner = spawner.user.orm_user.orm_spawners[name]
        recorded = LaunchRecord.in_options(orm_spawner.user_options)
        usages.append(recorded.usage() if recorded else no_usage())
    return usages


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
