"""BinderHub's launcher, with a failed launch told once on the loading page.

When the hub's spawn fails, BinderHub's ``Launcher.launch`` does two things
with the hub's last progress event (``failed: true``): it hands the event to
the build handler, which writes its message to the page as a "launching"
line, and it raises an error with the same message, which the handler writes
again as the "failed" event that ends the stream. A user saw every refusal
(a quota, a full cluster, a bad ``.resources``) twice. The launch itself is
upstream's, unchanged; this class only keeps the failed event out of the
relay, so the message reaches the page once, as the failure.

When the user already has ``named_server_limit_per_user`` servers, upstream
refuses with "One must be deleted before a new server can be created", which
is wrong here: stopped servers do not count, so stopping one is enough. The
refusal says so instead, in the hub's words, with the hub's home page.

The hub names its pages by path (``/hub/home``), which on BinderHub's page,
another host, would lead nowhere: such paths in a failure the page shows are
made into the hub's public URLs.

BinderHub builds ``Launcher`` from ``binderhub.app`` with no class setting,
so ``configure`` puts this subclass there before ``BinderHub.initialize``
makes it. Config for ``c.Launcher`` applies to it as to its parent.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from binderhub.launcher import Launcher
from binderhub.utils import url_path_join
from tornado import web

Event = dict[str, Any]
EventCallback = Callable[[Event], Awaitable[None]]


#: A path of the hub's own pages in a message, not part of a longer URL.
_HUB_PATH = re.compile(
    r"(?<![\w/.:~-])/(?:hub|user)/(?:[^\s,;()<>\"']*[^\s,;()<>\"'.])?"
)


def relay_except_failure(callback: EventCallback | None) -> EventCallback:
    """``callback`` for every progress event but the one that says the spawn
    failed: the launch raises with that event's message, and the page shows
    the error then."""

    async def relay(event: Event) -> None:
        if callback is not None and not event.get("failed", False):
            await callback(event)

    return relay


class FailureOnceLauncher(Launcher):
    """Upstream's launch; a failure is reported by its error, not relayed too,
    and a full quota with what to do here."""

    async def launch(
        self, *args: Any, event_callback: EventCallback | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            return await super().launch(
                *args, event_callback=relay_except_failure(event_callback), **kwargs
            )
        except web.HTTPError as error:
            # Upstream's only 409 for a named server: the limit is reached.
            named = kwargs.get("server_name", args[2] if len(args) > 2 else "")
            if error.status_code == 409 and named:
                raise web.HTTPError(409, self.full_quota_message()) from None
            message = error.log_message or ""
            shown = self.hub_links(message % error.args if error.args else message)
            if shown == message:
                raise
            raise web.HTTPError(error.status_code, shown) from None

    def hub_links(self, message: str) -> str:
        """``message`` with the hub's paths (``/hub/...``, ``/user/...``) as
        links to the hub's public URL, where that URL is absolute."""
        if not re.match(r"https?://", self.hub_url):
            return message
        return _HUB_PATH.sub(
            lambda found: url_path_join(self.hub_url, found.group(0)), message
        )

    def full_quota_message(self) -> str:
        """As the hub's ServerQuota words it (pyconfig/hub/quota.py)."""
        limit = self.named_server_limit_per_user
        home = url_path_join(self.hub_url, "hub/home")
        return (
            f"Launch refused: you already have {limit} servers running or "
            f"starting, the most allowed ({limit}). Stop one at {home}, then "
            "launch again. Stopped servers do not count, and your files in the "
            "persistent volume stay."
        )
