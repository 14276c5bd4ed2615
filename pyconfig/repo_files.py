"""Read one file of a repository at a commit from the provider's raw endpoint.

Hosts and URL templates are settings, so GitHub Enterprise and self-hosted
GitLab work, and tests point them at a loopback server. Tokens for private
repositories come from environment variables (a Kubernetes Secret) and are
sent only in headers, never put in a URL or a log line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

from tornado.httpclient import HTTPRequest
from tornado.httputil import HTTPInputError
from tornado.simple_httpclient import HTTPStreamClosedError, SimpleAsyncHTTPClient
from traitlets import Dict, Float, Int, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from .launch_source import LaunchedRepo
from .resources_file import MAX_BYTES


class FetchError(Exception):
    """The file could not be read (not: it does not exist); says why."""


@dataclass(frozen=True)
class Fetched:
    """A file's bytes, or ``None`` when the repository has no such file."""

    data: bytes | None


class RepoFileFetcher(LoggingConfigurable):
    """Where and how raw files of GitHub, GitLab and Gist repositories are read."""

    github_raw_urls = Dict(
        {"github.com": "https://raw.githubusercontent.com/{repo}/{commit}/{path}"},
        help="GitHub web host -> raw file URL template ({repo} is owner/name). "
        "Add GitHub Enterprise hosts, e.g. "
        '"github.example.org": "https://github.example.org/raw/{repo}/{commit}/{path}".',
    ).tag(config=True)
    gitlab_raw_urls = Dict(
        {
            "gitlab.com": "https://gitlab.com/api/v4/projects/{repo_quoted}"
            "/repository/files/{path_quoted}/raw?ref={commit}"
        },
        help="GitLab web host -> raw file URL template; {repo_quoted} is the "
        "URL-escaped project path (nested groups allowed). Add self-hosted "
        "GitLab hosts here.",
    ).tag(config=True)
    gist_raw_urls = Dict(
        {
            "gist.github.com": "https://gist.githubusercontent.com/{repo}/raw/"
            "{commit}/{path}"
        },
        help="Gist web host -> raw file URL template ({repo} is user/gist-id).",
    ).tag(config=True)
    token_env = Dict(
        {},
        help="Web host -> name of an environment variable holding an access "
        "token for private repositories on that host (sent as 'Authorization: "
        "token ...' to GitHub and Gist, 'PRIVATE-TOKEN' to GitLab).",
    ).tag(config=True)
    timeout = Float(
        5.0, help="Seconds to connect and read the file before giving up."
    ).tag(config=True, schema={"exclusiveMinimum": 0})
    max_redirects = Int(3, help="Redirects followed before giving up.").tag(
        config=True, schema={"minimum": 0}
    )
    user_agent = Unicode(
        "persistent-binderhub",
        help="User-Agent of the requests (providers ask API clients to name "
        "themselves).",
    ).tag(config=True)

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
            repo=repo.repo,
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

    async def fetch(self, repo: LaunchedRepo, path: str) -> Fetched:
        """Read ``path``; a 404 means no file; anything else odd is a FetchError."""
        url = self.raw_url(repo, path)
        if url is None:
            raise FetchError(
                f"{repo.host} is not a configured host for this provider "
                "(RepoFileFetcher settings)"
            )
        seen: dict[str, int | bool] = {}

        def watch_headers(line: str) -> None:
            # Tornado closes the connection when a body passes max_body_size;
            # what the headers announced lets us say why.
            if line.startswith("HTTP/"):
                seen.clear()
                seen["ok"] = line.split()[1:2] == ["200"]
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and value.strip().isdigit():
                seen["length"] = int(value)

        request = HTTPRequest(
            url,
            headers=self._headers(repo),
            connect_timeout=self.timeout,
            request_timeout=self.timeout,
            follow_redirects=True,
            max_redirects=self.max_redirects,
            header_callback=watch_headers,
        )
        # Its own client: the size cap must hold whatever client the hub set up.
        client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_BYTES)
        try:
            response = await client.fetch(request, raise_error=False)
        except Exception as error:  # network errors of every kind
            raise FetchError(self._why(error, seen)) from None
        finally:
            client.close()
        if response.code == 404:
            return Fetched(None)
        if 300 <= response.code < 400:
            raise FetchError(f"more than {self.max_redirects} redirects")
        if response.code != 200:
            reason = response.reason or "error"
            if response.error is not None and response.code == 599:
                reason = str(response.error)
            raise FetchError(f"HTTP {response.code} {reason}".strip())
        return Fetched(response.body or b"")

    @staticmethod
    def _why(error: Exception, seen: dict[str, int | bool]) -> str:
        too_large = f"the file is larger than {MAX_BYTES} bytes (64 KiB)"
        if isinstance(error, HTTPInputError) or seen.get("length", 0) > MAX_BYTES:
            return too_large
        if seen.get("ok") and isinstance(error, HTTPStreamClosedError):
            return f"the download broke off: {too_large}, or the connection failed"
        return f"{type(error).__name__}: {error}"
