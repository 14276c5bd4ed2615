"""BinderHub's build handler, with a full server quota refused before the build.

Upstream counts a user's named servers only in ``Launcher.launch``, after
the image is built (or found): a user with all their servers running waits
through a whole build to read that the launch cannot start. BinderHub
calls ``check_quota`` before it builds and again before it launches, and
this handler adds the user's count to that check, with the launcher's own
count (the hub's active servers of the user) and the hub's wording.

BinderHub routes ``/build/...`` to ``binderhub.app.BuildHandler``, so
``configure`` puts this subclass there before ``BinderHub.initialize``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from binderhub.builder import BuildHandler
from binderhub.quota import LaunchQuotaExceeded
from tornado.log import app_log

from .launcher import FailureOnceLauncher

#: The ``status`` of the refusal in BinderHub's launch metrics.
USER_QUOTA_STATUS = "user_server_quota"


class QuotaFirstBuildHandler(BuildHandler):
    """Upstream's handler; the repository's quota check also counts the
    user's servers, so a full quota is told before any build."""

    async def check_quota(self, provider: Any) -> Any:
        checked = await super().check_quota(provider)
        launcher: FailureOnceLauncher = self.settings["launcher"]  # configure.py
        limit = launcher.named_server_limit_per_user
        if not (self.settings["auth_enabled"] and launcher.allow_named_servers):
            return checked
        user = self.hub_auth.get_user(self)
        if limit <= 0 or not isinstance(user, dict) or "name" not in user:
            return checked
        try:
            data = await launcher.get_user_data(quote(user["name"], safe="@~"))
        except Exception as error:  # the launch counts again, and refuses
            app_log.warning("Counting %s's servers failed: %s", user["name"], error)
            return checked
        running = len([name for name in data.get("servers") or {} if name != ""])
        if running < limit:
            return checked
        message = launcher.full_quota_message()
        await self.fail(message)
        raise LaunchQuotaExceeded(
            message, quota=limit, used=running, status=USER_QUOTA_STATUS
        )
