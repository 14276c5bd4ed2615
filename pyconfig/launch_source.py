"""Which repository, at which commit, a BinderHub launch came from.

BinderHub hands the hub its resolved spec in ``user_options``
(``binder_persistent_request`` = ``v2/{provider}/{spec}``, plus
``binder_ref_url`` and ``repo_url``). From those we find where the
`.resources` of that exact commit can be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

#: BinderHub's provider prefixes whose raw files we know how to read.
SUPPORTED = {"gh": "GitHub", "gl": "GitLab", "gist": "Gist"}

_DEFAULT_HOSTS = {"gh": "github.com", "gl": "gitlab.com", "gist": "gist.github.com"}
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")


@dataclass(frozen=True)
class LaunchedRepo:
    """A repository at a commit: the key under which its `.resources` is cached."""

    provider: str  # "gh", "gl" or "gist"
    host: str  # the web host, e.g. github.com or a GitHub Enterprise host
    repo: str  # owner/name, the GitLab namespace path, or user/gist-id
    commit: str

    @property
    def pinned(self) -> bool:
        """True when ``commit`` is a full hash, so the file can never change."""
        return bool(_COMMIT.match(self.commit))

    def describe(self) -> str:
        return f"{self.host}/{self.repo} at {self.commit[:12]}"


@dataclass(frozen=True)
class NotFromRepository:
    """Why a launch has no `.resources` to read (it then gets the defaults)."""

    reason: str


def launched_repo(user_options: dict[str, Any]) -> LaunchedRepo | NotFromRepository:
    """The repository a launch came from, or why there is none to read."""
    request = str(user_options.get("binder_persistent_request") or "")
    if not request:
        return NotFromRepository("not launched from a repository through BinderHub")
    parts = request.split("/")
    if parts[0] == "v2":
        parts = parts[1:]
    provider, spec = parts[0], parts[1:]
    if provider not in SUPPORTED:
        names = ", ".join(SUPPORTED.values())
        return NotFromRepository(
            f"repositories from provider '{provider}' cannot carry a .resources "
            f"file yet (supported: {names})"
        )
    host = _web_host(user_options, provider)
    if provider == "gl":
        if len(spec) != 2:
            return _malformed(request)
        return LaunchedRepo(provider, host, unquote(spec[0]), spec[1])
    if len(spec) != 3 or not all(spec):
        return _malformed(request)
    return LaunchedRepo(provider, host, f"{spec[0]}/{spec[1]}", spec[2])


def _web_host(user_options: dict[str, Any], provider: str) -> str:
    for key in ("binder_ref_url", "repo_url"):
        host = urlsplit(str(user_options.get(key) or "")).hostname
        if host:
            return host
    return _DEFAULT_HOSTS[provider]


def _malformed(request: str) -> NotFromRepository:
    return NotFromRepository(f"cannot read the launch spec {request!r}")
