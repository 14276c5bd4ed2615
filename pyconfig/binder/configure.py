"""Install Persistent BinderHub into BinderHub's configuration: ``configure(c)``.

Called from the chart's short binderhub ``extraConfig`` snippet, while
``binderhub_config.py`` runs, which is inside ``BinderHub.initialize``
before it builds its launcher.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import binderhub.app
import binderhub.base

from .build_handler import QuotaFirstBuildHandler
from .launcher import FailureOnceLauncher

#: Marks the hub's links in the banner, so a second configure adds none.
HUB_LINKS_CLASS = "pbh-hub-links"
#: Our key in BinderHub's extra_header_html and extra_footer_scripts (sorted
#: by key there: an admin's own snippets keep their places).
PAGE_KEY = "persistent-binderhub"
HERE = Path(__file__).resolve().parent


def configure(c: Any) -> None:
    """Launch through :class:`FailureOnceLauncher` (the ``c.Launcher``
    section keeps applying), refuse a full quota before the build
    (:class:`QuotaFirstBuildHandler`), and lead every BinderHub page back to
    the hub."""
    binderhub.app.Launcher = FailureOnceLauncher
    binderhub.app.BuildHandler = QuotaFirstBuildHandler
    link_the_hub(c)
    dress_the_pages(c)
    name_the_user(c)


def dress_the_pages(c: Any) -> None:
    """Our style and script on every BinderHub page (page.css, page.js): a
    failed launch told once and readable on a phone, and the names and
    contrast WCAG 2.1 AA asks for, which BinderHub's bundled page lacks."""
    style = (HERE / "page.css").read_text(encoding="utf-8")
    script = (HERE / "page.js").read_text(encoding="utf-8")
    header = dict(c.BinderHub.get("extra_header_html") or {})
    header[PAGE_KEY] = f"<style>\n{style}</style>"
    c.BinderHub.extra_header_html = header
    footer = dict(c.BinderHub.get("extra_footer_scripts") or {})
    footer[PAGE_KEY] = script
    c.BinderHub.extra_footer_scripts = footer


def link_the_hub(c: Any) -> None:
    """Above the admin's banner, on every BinderHub page: the user's
    notebooks (the hub's home page) and logging out, at the hub's public
    URL. BinderHub's pages offer neither; without an absolute ``hub_url``
    nothing is added."""
    hub_url = c.BinderHub.get("hub_url")
    banner = c.BinderHub.get("banner_message") or ""
    if not isinstance(hub_url, str) or not re.match(r"https?://", hub_url):
        return
    if HUB_LINKS_CLASS in banner:
        return
    hub = html.escape(hub_url.rstrip("/"), quote=True)
    links = (
        f'<nav class="{HUB_LINKS_CLASS}" aria-label="Your account">'
        f'<a href="{hub}/hub/home">Your notebooks</a> &middot; '
        f'<a href="{hub}/hub/logout">Log out</a></nav>'
    )
    c.BinderHub.banner_message = links + (f"<div>{banner}</div>" if banner else "")


def name_the_user(c: Any) -> None:
    """Who is logged in, on every BinderHub page: our page.html (BinderHub's
    own, extended) puts the hub user's name where page.js shows it beside
    "Log out". BinderHub hands its templates no user, so its handlers'
    template namespace gains ``hub_user_name``. The binderhub chart always
    points ``BinderHub.template_path`` at /etc/binderhub/templates, where
    an admin may mount a page.html of their own: that one is kept, and the
    name is then not shown."""
    theirs = c.BinderHub.get("template_path")
    if not (isinstance(theirs, str) and Path(theirs, "page.html").is_file()):
        c.BinderHub.template_path = str(HERE)
    base = binderhub.base.BaseHandler
    if getattr(base, "_pbh_names_the_user", False):
        return
    upstream = base.template_namespace

    def template_namespace(self: Any) -> dict[str, Any]:
        namespace = upstream.fget(self)
        user = self.current_user if self.settings.get("auth_enabled") else None
        name = user.get("name") if isinstance(user, dict) else None
        namespace["hub_user_name"] = name if isinstance(name, str) else ""
        return namespace

    base.template_namespace = property(template_namespace)
    base._pbh_names_the_user = True
