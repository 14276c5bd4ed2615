"""Install Persistent BinderHub into a hub configuration: ``configure(c)``.

Called from the chart's short ``hub.extraConfig`` snippet, after z2jh and the
binderhub chart have filled ``c``. Everything is merged into what is already
there (volumes, mounts, environment, an admin's own pre-spawn hook), whatever
shape earlier steps left it in - a list, a dict, or the traitlets
``LazyConfigValue`` that ``c.KubeSpawner.volumes.extend(...)`` leaves when
nothing set the trait before (z2jh always does that) - and what is left
still takes the list and dict operations a later snippet may use. All
that must hold even when no launch runs the hook - the shared claim's name,
``delete_pvc`` off - is set here, on the configuration, because JupyterHub
deletes servers through spawners built from configuration alone.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyterhub.utils import maybe_future
from traitlets import TraitError
from traitlets.config import Config
from traitlets.config.loader import LazyConfigValue

from .. import __version__
from ..resources.policy import PolicyError, ResourcePolicy
from ..resources.policy_defaults import (
    DERIVED,
    chart_key,
    derived_defaults,
    origins,
)
from .culler import culler_timing
from .helm_test import HEADER
from .home_page import HomePage, page_data
from .namespace_quota import NamespaceQuota, capacity, last_reading
from .quota import ServerQuota
from .spawn_hook import SpawnHook, post_stop_hook, pre_spawn_hook
from .ssh_keys import SSHKeys
from .storage import UserStorage
from .upstream_apis import check_upstream_apis

#: The group notebook files belong to; the SSH key files are readable by it.
DEFAULT_FS_GID = 100


def configure(c: Config) -> None:
    """Add storage, SSH keys and the `.resources` hook to KubeSpawner's config."""
    check_upstream_apis()  # first: a hub image without them must not start
    spawner = c.KubeSpawner
    try:
        parts = (UserStorage(config=c), SSHKeys(config=c))
    except TraitError as error:
        raise ValueError(f"Persistent BinderHub configuration: {error}") from error
    for part in parts:
        for trait, value in part.kubespawner_config().items():
            if trait in ("volumes", "volume_mounts"):
                entries = _named(spawner.get(trait))
                entries.update(value)
                spawner[trait] = entries
            elif trait == "environment":
                spawner[trait] = {**_environment(spawner.get(trait)), **value}
            else:
                spawner[trait] = value
    if _get(spawner, "fs_gid") is None:
        spawner.fs_gid = DEFAULT_FS_GID
    spawner.pre_spawn_hook = _chained(_get(spawner, "pre_spawn_hook"))
    spawner.post_stop_hook = _chained(_get(spawner, "post_stop_hook"), post_stop_hook)
    derived = _derive_policy_defaults(c)
    _take_over_quota(c)
    _validate(c, derived)
    _home_page(c)
    # Tells `helm test` (pyconfig.hub.helm_test) that this configuration loaded.
    settings = _get(c.JupyterHub, "tornado_settings") or {}
    headers = {**settings.get("headers", {}), HEADER: __version__}
    c.JupyterHub.tornado_settings = {**settings, "headers": headers}


#: Keys of the entries of a NamedEntries that were added as list items.
_LISTED = re.compile(r"list-\d+")


class NamedEntries(dict[str, Any]):
    """KubeSpawner ``volumes`` or ``volume_mounts`` as a dict keyed by name.

    KubeSpawner 7 takes a dict (it sorts the values by key), so ours merge by
    name and stay reachable as ``c.KubeSpawner.volumes[name]``. It also takes
    the list operations z2jh documents, so a hub.extraConfig snippet that runs
    after configure(c) and calls ``.append``/``.extend``/``.insert`` (or
    ``+=``) adds to it instead of failing: list items are kept under keys
    ``list-0000``, ``list-0001``... in list order.
    """

    def listed(self) -> list[Any]:
        """The entries added as list items, in list order."""
        return [self[key] for key in sorted(self) if _LISTED.fullmatch(key)]

    def _relist(self, items: list[Any]) -> None:
        for key in [key for key in self if _LISTED.fullmatch(key)]:
            del self[key]
        width = max(4, len(str(len(items))))
        self.update({f"list-{n:0{width}d}": item for n, item in enumerate(items)})

    def append(self, item: Any) -> None:
        self._relist([*self.listed(), item])

    def extend(self, items: Iterable[Any]) -> None:
        self._relist([*self.listed(), *items])

    def insert(self, index: int, item: Any) -> None:
        items = self.listed()
        items.insert(index, item)
        self._relist(items)

    def prepend(self, items: Iterable[Any]) -> None:
        """As ``LazyConfigValue.prepend``: items before the listed ones."""
        self._relist([*items, *self.listed()])

    def __iadd__(self, items: Iterable[Any]) -> NamedEntries:
        self.extend(items)
        return self


def _home_page(c: Config) -> None:
    """Our home page template, fed by pyconfig.hub.home_page.page_data."""
    here = str(Path(__file__).resolve().parent)
    paths = list(_get(c.JupyterHub, "template_paths") or [])
    c.JupyterHub.template_paths = [here, *(p for p in paths if p != here)]
    limit = ServerQuota(config=c).limit
    cull_timeout, cull_every = culler_timing(_get(c.JupyterHub, "services", []))
    binder_url = _binder_url(c)
    storage_of = UserStorage(config=c).home
    quota_read = NamespaceQuota(config=c).enabled
    gpu_name = ResourcePolicy(config=c).snapshot().gpu_resource_name

    def persistent_binderhub(user: Any) -> HomePage | None:
        if user is None:
            return None
        storage = storage_of(user.name)
        now = datetime.now(UTC).replace(tzinfo=None)
        page = page_data(user, limit, cull_timeout, cull_every, storage, now)
        page = dataclasses.replace(page, binder_url=binder_url)
        reading = last_reading() if quota_read else None
        if reading is None:
            return page
        lines = tuple(capacity(reading, gpu_name))
        return dataclasses.replace(page, capacity=lines, capacity_at=reading.at)

    variables = dict(_get(c.JupyterHub, "template_vars") or {})
    variables["persistent_binderhub"] = persistent_binderhub
    c.JupyterHub.template_vars = variables


#: Where BinderHub receives the hub's OAuth answer, below its own URL.
BINDER_CALLBACK = "/oauth_callback"


def _binder_url(c: Config) -> str:
    """BinderHub's page: the binder service's OAuth callback, which the chart
    requires (hub.services.binder.oauth_redirect_uri), without its last part;
    "" without such a service."""
    for service in _get(c.JupyterHub, "services", []) or []:
        uri = str(service.get("oauth_redirect_uri") or "")
        if service.get("name") == "binder" and uri.endswith(BINDER_CALLBACK):
            return uri[: -len(BINDER_CALLBACK)] + "/"
    return ""


def _validate(c: Config, derived: dict[str, str]) -> None:
    """Fail when the hub starts, not at a user's first launch, on bad
    settings; a default taken from KubeSpawner is named by where it came
    from (``derived``: ours -> KubeSpawner's trait)."""
    try:
        SpawnHook(c).policy.check()
    except (TraitError, PolicyError) as error:
        sources = {
            ours: f"KubeSpawner.{theirs}, the chart's {chart_key(theirs)} "
            "unless hub.config.KubeSpawner sets it"
            for ours, theirs in derived.items()
        }
        raise ValueError(
            f"Persistent BinderHub configuration: {error}{origins(str(error), sources)}"
        ) from error


def _take_over_quota(c: Config) -> None:
    """ServerQuota counts active servers only; JupyterHub's check would count
    stopped ones too (and disagree with BinderHub), so it is switched off."""
    limit = _get(c.JupyterHub, "named_server_limit_per_user")
    if isinstance(limit, int) and _get(c.ServerQuota, "limit") is None:
        c.ServerQuota.limit = limit
    c.JupyterHub.named_server_limit_per_user = 0


def _derive_policy_defaults(c: Config) -> dict[str, str]:
    """One place for the defaults: the chart's singleuser.cpu and .memory
    (see pyconfig.resources.policy_defaults). Returns ours -> KubeSpawner's
    trait, for each default it set."""
    kubespawner = {theirs: _get(c.KubeSpawner, theirs) for theirs in DERIVED.values()}
    set_already = {ours for ours in DERIVED if _get(c.ResourcePolicy, ours) is not None}
    derived = derived_defaults(kubespawner, set_already)
    for ours, value in derived.items():
        c.ResourcePolicy[ours] = value
    return {ours: DERIVED[ours] for ours in derived}


def _get(section: Config, trait: str, initial: Any = None) -> Any:
    """A trait's value in ``c`` as the trait will get it: see _resolved."""
    return _resolved(section.get(trait), initial)


def _resolved(value: Any, initial: Any = None) -> Any:
    """A config value as traitlets resolves it for a trait whose default is
    ``initial``: a LazyConfigValue (left by ``.append``, ``.update``... or by
    merely reading an unset trait) applied to it. The LazyConfigValue itself
    is left as it is: ``get_value`` caches, and later steps may still add."""
    if isinstance(value, LazyConfigValue):
        return copy.deepcopy(value).get_value(initial)
    return value


def _parts(value: Any) -> tuple[list[Any], dict[str, Any]]:
    """A list-or-dict value's (list items, keyed items). A LazyConfigValue can
    hold both (``.extend`` vs ``.update``); traitlets would keep only the kind
    that fits the trait's default and silently drop the other."""
    listed, keyed = _resolved(value, []), _resolved(value, {})
    return (
        listed if isinstance(listed, list) else [],
        keyed if isinstance(keyed, dict) else {},
    )


def _named(value: Any) -> NamedEntries:
    """Volumes or mounts in any shape (list, dict, LazyConfigValue) as NamedEntries."""
    listed, keyed = _parts(value)
    entries = NamedEntries(keyed)
    entries.extend(listed)
    return entries


def _environment(value: Any) -> dict[str, Any]:
    """KubeSpawner.environment in any shape, as a plain dict (which keeps
    ``.update`` working for later snippets). List items, from ``.append`` or
    ``.extend`` on it, must be Kubernetes EnvVars: they are keyed by name."""
    listed, keyed = _parts(value)
    for item in listed:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)):
            raise ValueError(
                "Persistent BinderHub configuration: KubeSpawner.environment is "
                f"a dict; use c.KubeSpawner.environment.update({{...}}), not a "
                f"list item {item!r}"
            )
    return {**{item["name"]: item for item in listed}, **keyed}


def _chained(existing: Any, ours: Any = pre_spawn_hook) -> Any:
    """Our hook, after an admin's own hook if there is one."""
    if existing is None or existing is ours:
        return ours
    if getattr(existing, "runs_persistent_binderhub", False):
        return existing  # configure() ran before: ours is already in the chain

    async def both(spawner: Any) -> None:
        for hook in (existing, ours):
            await maybe_future(hook(spawner))  # as JupyterHub awaits a hook

    both.runs_persistent_binderhub = True
    return both
