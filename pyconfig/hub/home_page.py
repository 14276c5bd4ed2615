"""What the hub home page shows a user: their servers, quota, storage and key.

One function builds it from what the hub already stores (each server's
user_options, with the record the spawn hook adds); the template only shows
it. Times are naive UTC, as the hub database keeps them. user_options hold
whatever a REST caller sent, so nothing in them is trusted to have a shape:
a record the hook did not write shows as "unknown", never as an error page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from .launch_record import LaunchRecord, has_record
from .repo_spec import resolved_ref

#: What the Resources column says when a server's record cannot be read.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ServerRow:
    name: str
    repository: str  # "owner/repo", or "" when not launched from one
    repository_url: str  # link to the exact commit, or ""
    commit: str
    status: str  # running, starting, stopping, stopped
    started: datetime | None
    last_activity: datetime | None
    removal: str  # when it is removed for inactivity, in words
    # The earliest moment the culler removes it (last activity + timeout),
    # or None when it is not removed for inactivity.
    removal_at: datetime | None
    resources: str  # what it got, in words; "" if not recorded; "unknown"
    origin: str  # "file", "defaults" or ""
    url: str

    @property
    def moving(self) -> bool:
        """Starting or stopping: the page follows it until it settles."""
        return self.status in ("starting", "stopping")


def iso(moment: datetime | None) -> str:
    """A naive UTC time as <time datetime> wants it ("" for none)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def utc_text(moment: datetime | None) -> str:
    """A naive UTC time for people, unambiguous without JavaScript."""
    if moment is None:
        return ""
    return f"{moment:%a} {moment.day} {moment:%b %Y}, {moment:%H:%M} UTC"


@dataclass(frozen=True)
class HomePage:
    rows: list[ServerRow] = field(default_factory=list)
    active: int = 0
    limit: int = 0
    storage_path: str = ""
    ssh_public_key: str = ""
    cull_timeout: int = 0  # seconds idle before removal; 0: never removed
    cull_every: int = 0  # seconds between the culler's checks
    binder_url: str = ""  # BinderHub's page, where another repository launches
    #: The namespace quota's use, a line per resource, as the hub read it at
    #: ``capacity_at`` (the last launch); empty without NamespaceQuota.
    capacity: tuple[str, ...] = ()
    capacity_at: datetime | None = None

    # For the template: times as <time datetime> and as UTC words.
    iso = staticmethod(iso)
    utc = staticmethod(utc_text)

    @property
    def check_interval(self) -> str:
        """How often the culler checks, in words ("" without a culler)."""
        culling = self.cull_timeout > 0 and self.cull_every > 0
        return span(self.cull_every) if culling else ""

    @property
    def cull_text(self) -> str:
        """What the culler does, for the note under the table ("" if off)."""
        if self.cull_timeout <= 0:
            return ""
        every = self.check_interval
        check = f" (it checks every {every})" if every else ""
        return (
            f"A running server idle for {span(self.cull_timeout)} is removed at "
            f"the culler's next check{check}. Stopped servers are kept."
        )

    @property
    def full(self) -> bool:
        return self.limit > 0 and self.active >= self.limit

    @property
    def quota_text(self) -> str:
        if self.limit <= 0:
            return f"{self.active} servers running"
        return f"{self.active} of {self.limit} servers running"


def in_words(delta: timedelta) -> str:
    """A duration as people say it, to the nearest minute, in its two largest
    units: "in 7 days", "in 6 days 23 h", "in 5 h 12 min", "in 12 min".

    Rounded, not cut: a week less a few seconds is "in 7 days", not "in 6
    days" (a whole day early).
    """
    minutes = round(delta.total_seconds() / 60)
    if minutes < 1:
        return "any moment now"
    days, rest = divmod(minutes, 1440)
    if days:
        hours = round(rest / 60)
        days, hours = (days + 1, 0) if hours == 24 else (days, hours)
        return f"in {_count(days, 'day')}" + (f" {hours} h" if hours else "")
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"in {hours} h" + (f" {minutes} min" if minutes else "")
    return f"in {minutes} min"


def _count(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count != 1 else ''}"


_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def span(seconds: int) -> str:
    """A setting's length, exactly: "7 days", "1 hour", "90 minutes"."""
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return _count(seconds // size, unit)
    return f"{seconds} seconds"


def at_most(seconds: float) -> str:
    """An upper bound, rounded up so it stays true: "1 hour", "2 minutes"."""
    unit, size = next(((u, n) for u, n in _UNITS[:2] if seconds >= n), ("minute", 60))
    return _count(max(1, math.ceil(seconds / size)), unit)


def removal_words(removal_at: datetime, every: int, now: datetime) -> str:
    """When the culler removes a server, given its earliest moment.

    The culler acts only at its checks, every ``every`` seconds, so the
    server goes at the first check at or after ``removal_at``: up to
    ``every`` later. Far off, the earliest moment is the answer ("in 6
    days 23 h"); closer than one check interval, only the latest is ("within 1
    hour"). An unknown interval (0) leaves the earliest moment.
    """
    left = (removal_at - now).total_seconds()
    if every <= 0 or left >= every:
        return in_words(removal_at - now)
    return f"within {at_most(max(left, 0) + every)}"


def repository_of(options: dict[str, Any]) -> tuple[str, str, str]:
    """(label, link to the commit, commit) of the repository a server came from."""
    ref_url = str(options.get("binder_ref_url") or "")
    request = str(options.get("binder_persistent_request") or "")
    repo_url = str(options.get("repo_url") or "")
    if not (ref_url or repo_url):
        return "", "", ""
    try:
        parts = urlsplit(repo_url or ref_url)
        link = urlsplit(ref_url or repo_url)
    except ValueError:  # not a URL at all
        return "", "", ""
    path = parts.path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    commit = resolved_ref(request)
    # Only web links: user_options could carry a javascript: URL.
    href = (ref_url or repo_url) if link.scheme in ("http", "https") else ""
    return path, href, commit


def _resources(options: dict[str, Any], recorded: LaunchRecord | None) -> str:
    """Empty when nothing was recorded (not launched yet); "unknown" when
    what is there is not a record the hook wrote."""
    if recorded is None:
        return UNKNOWN if has_record(options) else ""
    return recorded.in_words()


def page_data(
    user: Any,
    limit: int,
    cull_timeout: int,
    cull_every: int,
    storage_path: str,
    now: datetime,
) -> HomePage:
    """The home page of ``user`` (a hub User) at ``now``, with the culler's
    ``--timeout`` and ``--cull-every`` (seconds; a timeout of 0: no culler)."""
    rows, keys = [], []
    active = 0
    for name, orm_spawner in sorted(user.orm_user.orm_spawners.items()):
        if not name:
            continue
        options = orm_spawner.user_options
        options = options if isinstance(options, dict) else {}
        recorded = LaunchRecord.in_options(options)
        # dict.get: the hub's spawner dict would create a spawner on [name]
        spawner = dict.get(user.spawners, name)
        if spawner is not None and spawner.pending:
            status = "stopping" if spawner.pending == "stop" else "starting"
        elif orm_spawner.server is not None:
            status = "running"
        else:
            status = "stopped"
        if status != "stopped":
            active += 1
        last = orm_spawner.last_activity
        removal_at = None
        if status == "stopped":
            removal = "kept until you delete it"
        elif cull_timeout and last is not None:
            removal_at = last + timedelta(seconds=cull_timeout)
            removal = removal_words(removal_at, cull_every, now)
        else:
            removal = "not removed for inactivity"
        label, link, commit = repository_of(options)
        rows.append(
            ServerRow(
                name=name,
                repository=label,
                repository_url=link,
                commit=commit[:12],
                status=status,
                started=orm_spawner.started,
                last_activity=last,
                removal=removal,
                removal_at=removal_at,
                resources=_resources(options, recorded),
                origin=recorded.origin if recorded else "",
                url=user.server_url(name),
            )
        )
        if recorded and recorded.ssh_public_key:
            keys.append((orm_spawner.started or datetime.min, recorded.ssh_public_key))
    # Newest first, as a user looks for the notebook they just launched;
    # stopped servers last (the hub may keep their last start time); by name
    # where equal (each sort is stable).
    rows.sort(key=lambda row: row.name)
    rows.sort(key=lambda row: row.started or datetime.min, reverse=True)
    rows.sort(key=lambda row: row.status == "stopped")
    return HomePage(
        rows=rows,
        active=active,
        limit=limit,
        storage_path=storage_path,
        ssh_public_key=max(keys)[1] if keys else "",
        cull_timeout=cull_timeout,
        cull_every=cull_every,
    )
