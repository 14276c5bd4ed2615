"""The per-user server quota, counted the way users and BinderHub see it.

A user may have ``ServerQuota.limit`` servers running or starting at once;
stopped servers do not count, so an old stopped server never blocks a launch.
The unnamed default server cannot be started at all: BinderHub never asks
for it, and a user who started it through the hub API would hold a server
outside the limit, the per-user totals and the home page.
That is also what BinderHub's launcher counts (the hub API lists only active
servers), so the two never disagree. JupyterHub's own check, which counts
stopped servers too, is switched off by ``configure(c)`` in favour of this one.
Launches that arrive together are counted one at a time: a starting server
counts from the moment the spawn hook has let it through (its reservation,
see spawn_hook.SpawnHook.prepare), so simultaneous launches fill the quota
exactly, never past it.

A server whose first start fails - refused (bad `.resources`, a cap, the
quota) or broken (an image that cannot be pulled) - is removed shortly after
the hub has stopped it, so it leaves no row behind. Not at once: the chart's
hub answers a launch with 202 before the hook runs, and BinderHub learns why
a launch failed from the server's progress events, which exist only while
the server does. Its user's volume and key are not
touched (``delete_pvc`` is off). A server that ran before is never removed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from jupyterhub import orm
from jupyterhub.utils import maybe_future
from traitlets import Bool, Unicode
from traitlets.config import LoggingConfigurable

from ..resources.policy import Count, Number
from .refusal import LaunchRefused


class ServerQuota(LoggingConfigurable):
    """How many servers a user may hold, and what happens to refused ones."""

    limit = Count(
        5,
        help="Servers a user may have running or starting at once (stopped "
        "servers do not count); 0 for no limit. The chart takes it from "
        "hub.namedServerLimitPerUser.",
    ).tag(config=True, schema={"minimum": 0})
    home_url = Unicode(
        "/hub/home",
        help="Where users stop and delete servers; named in the message of a "
        "launch refused for the quota.",
    ).tag(config=True)
    remove_refused = Bool(
        True,
        help="Delete a server whose first start failed (refused, or e.g. an "
        "image that could not be pulled) once the hub has stopped it, so a "
        "failed launch leaves nothing behind. Servers that ran are kept.",
    ).tag(config=True)
    refusal_delay = Number(
        1.0,
        help="Seconds a refused launch waits before it fails. BinderHub asks "
        "the hub for a launch's progress just after starting it; a launch "
        "refused sooner (the quota, a cached `.resources`) is already being "
        "stopped then, the hub answers 'not starting', and BinderHub shows "
        "'Failed to launch image' instead of the reason. The refused launch "
        "holds no quota slot while it waits.",
    ).tag(config=True, schema={"minimum": 0})
    remove_refused_after = Number(
        30.0,
        help="Seconds a failed new server stays (stopped, not counted) before "
        "it is removed, so BinderHub can read the reason from the hub's "
        "progress events and show it under its loading bar.",
    ).tag(config=True, schema={"minimum": 0})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: (user, server) -> its pending removal.
        self._removals: dict[tuple[str, str], asyncio.Task[None]] = {}

    def check(self, spawner: Any, reserved: Collection[str] = ()) -> None:
        """Refuse this launch if the user's other servers fill the quota.

        Counted: servers that run, and ``reserved``, the user's launches the
        spawn hook has let through and that are still starting (it reserves
        this launch's slot right after this check, before anything is
        awaited). Launches not yet checked are not counted: they will count
        these when their turn comes, so parallel launches fill the quota
        exactly once.
        """
        if not spawner.name:
            raise LaunchRefused(
                "Launch refused: this service starts named servers only, one "
                "for each repository you launch from BinderHub; the default "
                "server would escape the limit of servers and the totals. "
                f"Your servers are listed at {self.home_url}.",
                "quota",
            )
        if self.limit <= 0:
            return
        running = settled_servers(spawner.user, exclude=spawner.name)
        others = sorted({*running, *reserved} - {spawner.name})
        if len(others) < self.limit:
            return
        listed = ", ".join(others)
        raise LaunchRefused(
            f"Launch refused: you already have {len(others)} servers running or "
            f"starting, the most allowed ({self.limit}): {listed}. Stop one at "
            f"{self.home_url}, then launch again. Stopped servers do not count, "
            "and your files in the persistent volume stay.",
            "quota",
        )

    def remove_if_new(self, spawner: Any) -> None:
        """After a failed first start: remove the server once it is stopped.

        The hub saves a server's state only once it has started, so a server
        without state never ran. A launch of the same server cancels the
        removal (``cancel_removal``): if that one runs, the server has run.
        """
        if self.remove_refused and spawner.name and not spawner.orm_spawner.state:
            self.cancel_removal(spawner)
            key = (spawner.user.name, spawner.name)
            task = asyncio.get_running_loop().create_task(
                _remove_when_stopped(spawner, self.remove_refused_after)
            )
            self._removals[key] = task

            def forget(done: asyncio.Task[None]) -> None:
                if self._removals.get(key) is done:
                    del self._removals[key]

            task.add_done_callback(forget)

    def cancel_removal(self, spawner: Any) -> None:
        """A new launch of the server: drop a removal still pending for it."""
        task = self._removals.pop((spawner.user.name, spawner.name), None)
        if task is not None:
            task.cancel()


#: The pod a spawner's launch asked for, set on it by the spawn hook ("" when
#: the hook failed the launch: no pod was asked for).
ASKED_POD = "_persistent_binderhub_asked_pod"


def active_servers(user: Any, exclude: str = "") -> list[str]:
    """Names of the user's named servers that run or are starting."""
    names = []
    for name, orm_spawner in user.orm_user.orm_spawners.items():
        if not name or name == exclude:
            continue
        spawner = dict.get(user.spawners, name)
        if orm_spawner.server is not None or (spawner is not None and spawner.pending):
            names.append(name)
    return names


def settled_servers(user: Any, exclude: str = "") -> list[str]:
    """Names of the user's named servers that are active and not starting
    (servers that run, or are stopping)."""
    names = []
    for name in active_servers(user, exclude=exclude):
        spawner = dict.get(user.spawners, name)
        if spawner is None or spawner.pending != "spawn":
            names.append(name)
    return names


async def _remove_when_stopped(
    spawner: Any, grace: float, timeout: float = 60.0
) -> None:
    """The removal task: never raises (nothing would read it), says why."""
    try:
        await _remove(spawner, grace, timeout)
    except asyncio.CancelledError:
        spawner.log.info(
            "Removal of %s/%s (or of its late pod) called off: launched again",
            spawner.user.name,
            spawner.name,
        )
        raise
    except Exception:
        spawner.log.exception(
            "Removing %s/%s after its failed launch", spawner.user.name, spawner.name
        )


async def _remove(spawner: Any, grace: float, timeout: float) -> None:
    user, name = spawner.user, spawner.name
    user_name, user_id, db = user.name, user.id, user.db
    # Read now: the hub may replace the spawner object (below).
    asked = getattr(spawner, ASKED_POD, "")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while spawner.pending or spawner.active:
        if loop.time() > deadline:
            spawner.log.warning("Refused server %s/%s did not stop", user_name, name)
            return
        await asyncio.sleep(0.1)
    await asyncio.sleep(grace)
    if not _same_user(db, user_name, user_id):
        # The admin deleted the user (their servers went with them), perhaps
        # made them anew: nothing of this user object is ours to touch.
        await _delete_late_pod(spawner, asked, user_name, db)
        return
    if name not in user.orm_user.orm_spawners:  # the user deleted it already
        await _delete_late_pod(spawner, asked, user_name, db)
        return
    # The hub may have made a new spawner object for the same server since
    # (its progress API replaces a failed one): act on the current one.
    spawner = dict.get(user.spawners, name) or spawner
    if _launched_again(spawner):
        return
    await _delete_forever(spawner)  # the volume stays (delete_pvc is off)
    spawner = dict.get(user.spawners, name) or spawner
    if (
        _launched_again(spawner)
        or not _same_user(db, user_name, user_id)
        or name not in user.orm_user.orm_spawners
    ):
        return  # during the await: no row is deleted under a launch
    db.delete(spawner.orm_spawner)
    user.spawners.pop(name, None)
    db.commit()
    spawner.log.info("Removed %s/%s: its first launch failed", user_name, name)
    await _delete_late_pod(spawner, asked, user_name, db)


def _same_user(db: Any, name: str, user_id: int) -> bool:
    """The hub still has this user: same name, same row (not deleted, nor
    deleted and made anew)."""
    found = orm.User.find(db, name)
    return found is not None and found.id == user_id


def _server_exists(db: Any, user_name: str, server_name: str) -> bool:
    """A server of this name exists now, for whichever user holds the name."""
    found = orm.User.find(db, user_name)
    return found is not None and server_name in found.orm_spawners


def _launched_again(spawner: Any) -> bool:
    """A launch of the server has begun or runs.

    ``pending`` is "spawn" for all of a launch: the hub's one caller of
    ``User.spawn`` (``BaseHandler.spawn_single_user``) marks it in the same
    step as it creates the coroutine, before any of it runs, and clears it
    after the start has ended (jupyterhub 5.3 to 5.5). The private
    ``Spawner._start_pending`` is set later and cleared sooner, so it adds
    nothing.
    """
    return bool(spawner.pending or spawner.active)


async def _delete_forever(spawner: Any) -> None:
    """What JupyterHub does before it deletes a stopped server's row, with the
    public ``Spawner.delete_forever`` (JupyterHub's own ``User._delete_spawner``
    is private): its error is logged, and the row goes anyway."""
    try:
        await maybe_future(spawner.delete_forever())
    except Exception:
        spawner.log.exception(
            "Error cleaning up persistent resources of %s/%s",
            spawner.user.name,
            spawner.name,
        )


async def _delete_late_pod(
    spawner: Any, pod_name: str, user_name: str, db: Any
) -> None:
    """Delete the removed server's pod if a create arrives after all.

    A pod create that timed out on KubeSpawner's side may still be applied
    by a slow API server after the launch failed and the hub deleted the
    (then absent) pod: a notebook no server owns, that the culler never
    sees. Once KubeSpawner's retries would be over, that pod is deleted,
    unless a server of the same name exists again by then (the same user's
    relaunch, or a user deleted and made anew): its pod has the same name
    and is its own. The pod is read first and deleted only as read (a uid
    precondition), so a pod made after the check is never the one deleted.
    """
    api = getattr(spawner, "api", None)
    if api is None or not pod_name:
        return  # not a KubeSpawner, or no pod was asked for
    await asyncio.sleep(float(getattr(spawner, "k8s_api_request_retry_timeout", 30)))
    timeout = float(getattr(spawner, "k8s_api_request_timeout", 3)) * 3
    try:
        pod = await asyncio.wait_for(
            api.read_namespaced_pod(pod_name, spawner.namespace), timeout=timeout
        )
    except Exception as error:  # 404: nothing came late, as usual
        if getattr(error, "status", None) != 404:
            spawner.log.warning("Could not read late pod %s: %s", pod_name, error)
        spawner.log.info("Late pod check of %s: no pod", pod_name)
        return
    if _server_exists(db, user_name, spawner.name):
        spawner.log.info("Late pod check of %s: its server exists again", pod_name)
        return
    try:
        delete = api.delete_namespaced_pod(
            pod_name,
            spawner.namespace,
            grace_period_seconds=1,
            body={"preconditions": {"uid": pod.metadata.uid}},
        )
        await asyncio.wait_for(delete, timeout=timeout)
    except Exception as error:  # 404/409: gone, or a new pod meanwhile
        if getattr(error, "status", None) not in (404, 409):
            spawner.log.warning("Could not delete late pod %s: %s", pod_name, error)
        spawner.log.info("Late pod check of %s: not deleted", pod_name)
        return
    spawner.log.warning(
        "Late pod check of %s: deleted, created after its launch had failed",
        pod_name,
    )
