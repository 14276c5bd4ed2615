"""Which repository, at which commit, a BinderHub launch came from.

BinderHub hands the hub its resolved spec in ``user_options``
(``binder_persistent_request`` = ``v2/{provider}/{spec}``, plus
``binder_ref_url`` and ``repo_url``). From those we find where the
`.resources` of that exact commit can be read.

Every part of a spec (owner, repository, gist id, GitLab namespace, commit)
is checked against the provider's name rules before it goes into a URL, so
``#``, ``?``, ``%`` or ``..`` in ``user_options`` (which any hub user may
send through the hub API, not only BinderHub) cannot point the fetch, and
the access token, at another path.
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

#: Name rules: (pattern, the rule in words) for each kind of spec part.
RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "GitHub owner": (
        re.compile(r"(?=.{1,39}\Z)[A-Za-z0-9]+(-[A-Za-z0-9]+)*\Z"),
        "letters, digits and single hyphens inside, at most 39 characters",
    ),
    "GitHub repository": (
        re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._-]{1,100}\Z"),
        "letters, digits, '.', '-' and '_', at most 100 characters, not '.' or '..'",
    ),
    "gist id": (re.compile(r"[0-9a-f]{1,64}\Z"), "hexadecimal digits"),
    "GitLab namespace part": (
        re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}(?<!\.)\Z"),
        "letters, digits, '_', '-' and '.', not starting with '-' or ending with '.'",
    ),
    "ref": (
        re.compile(r"(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9._-]{0,254}(?<![.])\Z"),
        "a commit hash or a branch or tag name of letters, digits, '.', '-' "
        "and '_' (no '/', no '..')",
    ),
}


def name_problem(kind: str, value: str) -> str | None:
    """Why ``value`` is not a valid ``kind`` (a key of RULES), or None."""
    pattern, rule = RULES[kind]
    if pattern.match(value):
        return None
    return f"{kind} {value!r} is not valid: {rule}"


def spec_problem(provider: str, repo: str, ref: str) -> str | None:
    """The first part of a spec that breaks its provider's name rules, or None.

    ``repo`` is owner/name, user/gist-id or the (unescaped) GitLab namespace.
    """
    parts = repo.split("/")
    if provider == "gl":
        checks = [("GitLab namespace part", part) for part in parts]
        if len(parts) < 2:
            return f"GitLab project {repo!r} is not valid: it is GROUP/PROJECT"
    elif len(parts) != 2:
        return f"{SUPPORTED[provider]} repository {repo!r} is not valid: two parts"
    elif provider == "gh":
        checks = [("GitHub owner", parts[0]), ("GitHub repository", parts[1])]
    else:
        checks = [("GitHub owner", parts[0]), ("gist id", parts[1])]
    for kind, value in [*checks, ("ref", ref)]:
        problem = name_problem(kind, value)
        if problem:
            return problem
    return None


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
        repo, commit = unquote(spec[0]), spec[1]
    elif len(spec) != 3 or not all(spec):
        return _malformed(request)
    else:
        repo, commit = f"{spec[0]}/{spec[1]}", spec[2]
    problem = spec_problem(provider, repo, commit)
    if problem:
        return _malformed(request, problem)
    return LaunchedRepo(provider, host, repo, commit)


def _web_host(user_options: dict[str, Any], provider: str) -> str:
    for key in ("binder_ref_url", "repo_url"):
        host = urlsplit(str(user_options.get(key) or "")).hostname
        if host:
            return host
    return _DEFAULT_HOSTS[provider]


def _malformed(request: str, why: str = "") -> NotFromRepository:
    reason = f"cannot read the launch spec {request!r}"
    return NotFromRepository(f"{reason}: {why}" if why else reason)
