"""BinderHub's repository specs: the providers, their name rules, the parser.

The one place that knows what ``gh/OWNER/REPO/REF`` means: the hub reads a
launch's spec with it, the admin tools read one typed on the command line
with it, and the home page takes the commit from it.

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
from urllib.parse import quote, unquote, urlsplit


@dataclass(frozen=True)
class Provider:
    """A BinderHub provider whose raw files we know how to read."""

    prefix: str  # in specs: gh/..., gl/..., gist/...
    name: str  # in messages
    host: str  # its public web host
    raw_url: str  # its public raw-file URL template (see RepoFileFetcher)

    def raw_urls(self) -> dict[str, str]:
        """The default of RepoFileFetcher's table for this provider."""
        return {self.host: self.raw_url}


#: BinderHub's provider prefixes whose raw files we know how to read.
PROVIDERS = {
    p.prefix: p
    for p in (
        Provider(
            "gh",
            "GitHub",
            "github.com",
            "https://raw.githubusercontent.com/{repo}/{commit}/{path}",
        ),
        Provider(
            "gl",
            "GitLab",
            "gitlab.com",
            "https://gitlab.com/api/v4/projects/{repo_quoted}"
            "/repository/files/{path_quoted}/raw?ref={commit}",
        ),
        Provider(
            "gist",
            "Gist",
            "gist.github.com",
            "https://gist.githubusercontent.com/{repo}/raw/{commit}/{path}",
        ),
    )
}
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


#: A spec of each provider, as BinderHub writes them.
SPEC_FORMS = {
    "gh": "gh/OWNER/REPO/REF",
    "gl": "gl/GROUP%2FPROJECT/REF",
    "gist": "gist/USER/ID/REF",
}


def missing_ref(provider: str, repo: str) -> str:
    """Why a spec of ``repo`` without a ref cannot be read, and the spec to
    write instead (``repo`` already holds to its provider's name rules)."""
    escaped = quote(repo, safe="") if provider == "gl" else repo
    return (
        f"the ref is missing: a {PROVIDERS[provider].name} spec is "
        f"{SPEC_FORMS[provider]}, so write {provider}/{escaped}/HEAD for the "
        "default branch, or put a branch, tag or commit in place of HEAD"
    )


def spec_problem(provider: str, repo: str, ref: str) -> str | None:
    """The first part of a spec that breaks its provider's name rules, or None.

    ``repo`` is owner/name, user/gist-id or the (unescaped) GitLab namespace;
    an empty ``ref`` is a missing one.
    """
    parts = repo.split("/")
    if provider == "gl":
        checks = [("GitLab namespace part", part) for part in parts]
        if len(parts) < 2:
            return f"GitLab project {repo!r} is not valid: it is GROUP/PROJECT"
    elif len(parts) != 2:
        return f"{PROVIDERS[provider].name} repository {repo!r} is not valid: two parts"
    elif provider == "gh":
        checks = [("GitHub owner", parts[0]), ("GitHub repository", parts[1])]
    else:
        checks = [("GitHub owner", parts[0]), ("gist id", parts[1])]
    for kind, value in checks:
        problem = name_problem(kind, value)
        if problem:
            return problem
    if not ref:
        return missing_ref(provider, repo)
    return name_problem("ref", ref)


class SpecError(ValueError):
    """A spec that cannot be read; the message says why."""


class UnknownProvider(SpecError):
    """A provider prefix that is not in :data:`PROVIDERS`."""


class MalformedSpec(SpecError):
    """A spec without the parts its provider's specs have."""


class InvalidName(SpecError):
    """A part that breaks its provider's name rules (see :func:`spec_problem`)."""


class MissingRef(InvalidName):
    """A spec without its ref (an empty one); the message shows the spec with one."""


def parse_spec(spec: str) -> tuple[str, str, str]:
    """(provider, repo, ref) of a spec ``PROVIDER/...`` as BinderHub writes
    them (``v2/`` already taken off): ``gh/OWNER/REPO/REF``,
    ``gl/GROUP%2FPROJECT/REF`` (``repo`` comes unescaped), ``gist/USER/ID/REF``.
    Every part is held to its provider's name rules."""
    provider, _, rest = spec.partition("/")
    if provider not in PROVIDERS:
        raise UnknownProvider(provider)
    pieces = rest.split("/")
    if len(pieces) == (1 if provider == "gl" else 2):
        pieces.append("")  # no ref at all; "gh/o/r/" has an empty one
    if provider == "gl" and len(pieces) == 2:
        repo, ref = unquote(pieces[0]), pieces[1]
    elif provider != "gl" and len(pieces) == 3 and pieces[0] and pieces[1]:
        repo, ref = f"{pieces[0]}/{pieces[1]}", pieces[2]
    else:
        raise MalformedSpec(spec)
    problem = spec_problem(provider, repo, ref)
    if problem and not ref and spec_problem(provider, repo, "HEAD") is None:
        raise MissingRef(problem)
    if problem:
        raise InvalidName(problem)
    return provider, repo, ref


def resolved_ref(request: str) -> str:
    """The last part of a ``binder_persistent_request`` (``v2/PROVIDER/…/REF``):
    the commit BinderHub resolved, for every provider; "" when it has none."""
    return request.rsplit("/", 1)[-1] if request.count("/") >= 2 else ""


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
    spec = request[len("v2/") :] if request.startswith("v2/") else request
    try:
        provider, repo, commit = parse_spec(spec)
    except UnknownProvider as error:
        names = ", ".join(p.name for p in PROVIDERS.values())
        return NotFromRepository(
            f"repositories from provider '{error}' cannot carry a .resources "
            f"file yet (supported: {names})"
        )
    except MalformedSpec:
        return _malformed(request)
    except InvalidName as error:
        return _malformed(request, str(error))
    return LaunchedRepo(provider, _web_host(user_options, provider), repo, commit)


def _web_host(user_options: dict[str, Any], provider: str) -> str:
    for key in ("binder_ref_url", "repo_url"):
        host = urlsplit(str(user_options.get(key) or "")).hostname
        if host:
            return host
    return PROVIDERS[provider].host


def _malformed(request: str, why: str = "") -> NotFromRepository:
    reason = f"cannot read the launch spec {request!r}"
    return NotFromRepository(f"{reason}: {why}" if why else reason)
