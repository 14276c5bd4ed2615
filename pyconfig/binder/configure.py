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

from .launcher import FailureOnceLauncher

#: Marks the hub's links in the banner, so a second configure adds none.
HUB_LINKS_CLASS = "pbh-hub-links"
#: Our key in BinderHub's extra_header_html and extra_footer_scripts (sorted
#: by key there: an admin's own snippets keep their places).
PAGE_KEY = "persistent-binderhub"
HERE = Path(__file__).resolve().parent


def configure(c: Any) -> None:
    """Launch through :class:`FailureOnceLauncher` (the ``c.Launcher``
    section keeps applying), and lead every BinderHub page back to the hub."""
    binderhub.app.Launcher = FailureOnceLauncher
    link_the_hub(c)
    dress_the_pages(c)


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
