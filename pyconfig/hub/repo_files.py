"""Read one file of a repository at a commit from the provider's raw endpoint.

Hosts and URL templates are settings, so GitHub Enterprise and self-hosted
GitLab work, and tests point them at a loopback server. Tokens for private
repositories come from environment variables (a Kubernetes Secret) and are
sent only in headers, never put in a URL or a log line.

Redirects are followed here, hop by hop, at most ``max_redirects``: the token
goes only to the configured raw URL's own scheme, host and port (a redirect
elsewhere is followed without it, and a 404 there is an error, not "no
file"); https is never followed down to http. Nothing is decompressed and no
compression is asked for, so the 64 KiB cap counts the bytes the parser
gets, as they arrive; a Content-Encoding sent anyway is refused. The client
is the fetcher's own (tornado's simple client), whatever AsyncHTTPClient the
hub configures (z2jh configures curl); the same code holds on curl.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, urljoin, urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httputil import HTTPHeaders, HTTPInputError
from tornado.simple_httpclient import HTTPStreamClosedError, SimpleAsyncHTTPClient
from traitlets import Dict, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from ..resources.parser import MAX_BYTES
from ..resources.policy import Count, Number
from .repo_spec import PROVIDERS, LaunchedRepo, spec_problem


class FetchError(Exception):
    """The file could not be read (not: it does not exist); says why."""


@dataclass(frozen=True)
class Fetched:
    """A file's bytes, or ``None`` when the repository has no such file."""

    data: bytes | None


class RepoFileFetcher(LoggingConfigurable):
    """Where and how raw files of GitHub, GitLab and Gist repositories are read."""

    github_raw_urls = Dict(
        PROVIDERS["gh"].raw_urls(),
        help="GitHub web host -> raw file URL template ({repo} is owner/name). "
        "Add GitHub Enterprise hosts, e.g. "
        '"github.example.org": "https://github.example.org/raw/{repo}/{commit}/{path}".',
    ).tag(config=True)
    gitlab_raw_urls = Dict(
        PROVIDERS["gl"].raw_urls(),
        help="GitLab web host -> raw file URL template; {repo_quoted} is the "
        "URL-escaped project path (nested groups allowed). Add self-hosted "
        "GitLab hosts here.",
    ).tag(config=True)
    gist_raw_urls = Dict(
        PROVIDERS["gist"].raw_urls(),
        help="Gist web host -> raw file URL template ({repo} is user/gist-id).",
    ).tag(config=True)
    token_env = Dict(
        {},
        help="Web host -> name of an environment variable holding an access "
        "token for private repositories on that host (sent as 'Authorization: "
        "token ...' to GitHub and Gist, 'PRIVATE-TOKEN' to GitLab).",
    ).tag(config=True)
    timeout = Number(
        5.0, help="Seconds to connect and read the file before giving up."
    ).tag(config=True, schema={"exclusiveMinimum": 0})
    max_redirects = Count(3, help="Redirects followed before giving up.").tag(
        config=True, schema={"minimum": 0}
    )
    user_agent = Unicode(
        "persistent-binderhub",
        help="User-Agent of the requests (providers ask API clients to name "
        "themselves).",
    ).tag(config=True)

    #: The HTTP client used (tests also run the curl client through here).
    client_class: ClassVar[type[AsyncHTTPClient]] = SimpleAsyncHTTPClient

    @validate("timeout")
    def _positive_timeout(self, proposal):
        if proposal.value <= 0:
            raise TraitError("RepoFileFetcher.timeout must be more than 0 seconds")
        return proposal.value

    def raw_url(self, repo: LaunchedRepo, path: str) -> str | None:
        """The raw URL of ``path`` at the commit, or None for an unknown host."""
        templates = {
            "gh": self.github_raw_urls,
            "gl": self.gitlab_raw_urls,
            "gist": self.gist_raw_urls,
        }[repo.provider]
        template = templates.get(repo.host)
        if template is None:
            return None
        return template.format(
            repo="/".join(quote(part, safe="") for part in repo.repo.split("/")),
            repo_quoted=quote(repo.repo, safe=""),
            commit=quote(repo.commit, safe=""),
            path=quote(path),
            path_quoted=quote(path, safe=""),
        )

    def _headers(self, repo: LaunchedRepo) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent}
        variable = self.token_env.get(repo.host)
        token = os.environ.get(variable, "") if variable else ""
        if token:
            if repo.provider == "gl":
                headers["PRIVATE-TOKEN"] = token
            else:
                headers["Authorization"] = f"token {token}"
        return headers

    def _client(self) -> AsyncHTTPClient:
        """A client of its own, so the hub's AsyncHTTPClient setup changes nothing."""
        if issubclass(self.client_class, SimpleAsyncHTTPClient):
            return SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_BYTES)
        return self.client_class(force_instance=True)

    async def fetch(self, repo: LaunchedRepo, path: str) -> Fetched:
        """Read ``path``; a 404 means no file; anything else odd is a FetchError.

        Redirects are followed here, not by the client, so each hop is
        checked: the token goes only to the configured raw URL's origin
        (scheme, host and port), and never from https down to http.
        """
        problem = spec_problem(repo.provider, repo.repo, repo.commit)
        if problem:  # launched_repo checks this already; a LaunchedRepo made
            raise FetchError(problem)  # elsewhere must not reach another path
        url = self.raw_url(repo, path)
        if url is None:
            raise FetchError(
                f"{repo.host} is not a configured host for this provider "
                "(RepoFileFetcher settings)"
            )
        origin = _origin(url)
        headers = self._headers(repo)
        token_dropped = False
        client = self._client()
        try:
            for _ in range(self.max_redirects + 1):
                response = await self._get(client, url, headers)
                if response.code not in _REDIRECTS:
                    break
                url = _next_hop(url, response.headers.get("Location", ""))
                if _origin(url) != origin and headers != self._public_headers():
                    headers, token_dropped = self._public_headers(), True
            else:
                raise FetchError(f"more than {self.max_redirects} redirects")
        finally:
            client.close()
        if response.code == 404 and token_dropped:
            raise FetchError(
                f"HTTP 404 at {_origin(url)}, where a redirect led and the "
                "access token is not sent"
            )
        if response.code == 404:
            return Fetched(None)
        if response.code != 200:
            raise FetchError(f"HTTP {response.code} {response.reason or 'error'}")
        return Fetched(response.body)

    def _public_headers(self) -> dict[str, str]:
        return {"User-Agent": self.user_agent}

    async def _get(
        self, client: AsyncHTTPClient, url: str, headers: dict[str, str]
    ) -> _Response:
        """One GET, no redirects followed, the body capped at MAX_BYTES as it
        arrives (compressed or not: nothing is decompressed)."""
        body = _CappedBody()
        request = HTTPRequest(
            url,
            headers=headers,
            connect_timeout=self.timeout,
            request_timeout=self.timeout,
            follow_redirects=False,
            decompress_response=False,
            header_callback=body.header_line,
            streaming_callback=body.simple_write,
            prepare_curl_callback=body.curl_setup,
        )
        try:
            response = await client.fetch(request, raise_error=False)
        except Exception as error:  # network errors of every kind
            raise FetchError(body.why(error)) from None
        if body.too_large:
            raise FetchError(_TOO_LARGE)
        encoding = response.headers.get("Content-Encoding", "identity").lower()
        if encoding != "identity" and response.code == 200:
            raise FetchError(
                f"the server sent Content-Encoding {encoding!r}, which was not "
                "asked for"
            )
        return _Response(response.code, response.reason, response.headers, body.data)


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TOO_LARGE = f"the file is larger than {MAX_BYTES} bytes (64 KiB)"


@dataclass(frozen=True)
class _Response:
    code: int
    reason: str
    headers: HTTPHeaders
    body: bytes


def _origin(url: str) -> str:
    """scheme://host:port, the unit a token is bound to."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or default}"


def _next_hop(url: str, location: str) -> str:
    """Where a redirect leads; refuses other schemes and https -> http."""
    if not location:
        raise FetchError("a redirect without a Location")
    try:
        target = urljoin(url, location)
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        raise FetchError("a redirect to a URL that is not one") from None
    scheme = parts.scheme
    if scheme not in ("http", "https"):
        raise FetchError(f"refused a redirect to a {scheme!r} URL")
    if urlsplit(url).scheme == "https" and scheme != "https":
        raise FetchError("refused a redirect from https to http")
    if not parts.hostname:
        raise FetchError("a redirect to a URL without a host")
    return target


class _BodyTooLarge(Exception):
    """Raised inside the simple client's streaming callback to stop reading."""


class _CappedBody:
    """The response body, collected up to MAX_BYTES; past that the download
    is stopped (simple client: an exception; curl: a short write)."""

    def __init__(self) -> None:
        self._chunks = bytearray()
        self.too_large = False
        self.status_ok = False

    @property
    def data(self) -> bytes:
        return bytes(self._chunks)

    def _take(self, chunk: bytes) -> bool:
        if len(self._chunks) + len(chunk) > MAX_BYTES:
            self.too_large = True
            return False
        self._chunks += chunk
        return True

    def simple_write(self, chunk: bytes) -> None:
        if not self._take(chunk):
            raise _BodyTooLarge

    def curl_setup(self, curl: Any) -> None:
        # Tornado's curl client hands chunks to streaming_callback later, on
        # the IOLoop, and cannot stop the transfer; writing here can.
        import pycurl

        curl.setopt(pycurl.WRITEFUNCTION, lambda b: len(b) if self._take(b) else 0)

    def header_line(self, line: str) -> None:
        # A Content-Length over the cap tells the simple client's refusal apart.
        if line.startswith("HTTP/"):
            self.status_ok = line.split()[1:2] == ["200"]
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            self.too_large = self.too_large or int(value) > MAX_BYTES

    def why(self, error: Exception) -> str:
        if self.too_large or isinstance(error, (HTTPInputError, _BodyTooLarge)):
            return _TOO_LARGE
        if self.status_ok and isinstance(error, HTTPStreamClosedError):
            return f"the download broke off: {_TOO_LARGE}, or the connection failed"
        return f"{type(error).__name__}: {error}"
