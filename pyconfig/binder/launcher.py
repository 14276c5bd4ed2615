"""BinderHub's launcher, with a failed launch told once on the loading page.

When the hub's spawn fails, BinderHub's ``Launcher.launch`` does two things
with the hub's last progress event (``failed: true``): it hands the event to
the build handler, which writes its message to the page as a "launching"
line, and it raises an error with the same message, which the handler writes
again as the "failed" event that ends the stream. A user saw every refusal
(a quota, a full cluster, a bad ``.resources``) twice. The launch itself is
upstream's, unchanged; this class only keeps the failed event out of the
relay, so the message reaches the page once, as the failure.

BinderHub builds ``Launcher`` from ``binderhub.app`` with no class setting,
so ``configure`` puts this subclass there before ``BinderHub.initialize``
makes it. Config for ``c.Launcher`` applies to it as to its parent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from binderhub.launcher import Launcher

Event = dict[str, Any]
EventCallback = Callable[[Event], Awaitable[None]]


def relay_except_failure(callback: EventCallback | None) -> EventCallback:
    """``callback`` for every progress event but the one that says the spawn
    failed: the launch raises with that event's message, and the page shows
    the error then."""

    async def relay(event: Event) -> None:
        if callback is not None and not event.get("failed", False):
            await callback(event)

    return relay


class FailureOnceLauncher(Launcher):
    """Upstream's launch; a failure is reported by its error, not relayed too."""

    async def launch(
        self, *args: Any, event_callback: EventCallback | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return await super().launch(
            *args, event_callback=relay_except_failure(event_callback), **kwargs
        )
