"""Redirects of the raw file host: the access token stays with the configured
host, https is never downgraded, and the number of hops is bounded.

Every test runs on tornado's simple client and on pycurl (what z2jh's
jupyterhub_config.py configures for the hub), both set as the hub's
AsyncHTTPClient and as the fetcher's own client. The second host is a
stand-in on 127.0.0.2 (loopback on Linux too).
"""

from __future__ import annotations

import pytest
from traitlets.config import Config

from fakes.standins import RawFileServer
from offline.hub_setup import SHA, cerit_api, cerit_config, github
from pyconfig.hub.repo_files import FetchError, RepoFileFetcher, _next_hop
from pyconfig.hub.repo_spec import LaunchedRepo
from pyconfig.hub.spawn_hook import SOURCE_VARIABLE

TOKEN = "ghp_redirect_test_token_0123456789"
PATH = f"/owner/private/{SHA}/.resources"


@pytest.fixture
def other():
    """Another host: same machine, another loopback address."""
    with RawFileServer(host="127.0.0.2") as server:
        yield server


@pytest.fixture
def fetcher(raw, monkeypatch):
    monkeypatch.setenv("TEST_GITHUB_TOKEN", TOKEN)
    config = Config()
    config.RepoFileFetcher.github_raw_urls = {
        "github.com": raw.url + "/{repo}/{commit}/{path}"
    }
    config.RepoFileFetcher.token_env = {"github.com": "TEST_GITHUB_TOKEN"}
    config.RepoFileFetcher.timeout = 2.0
    return RepoFileFetcher(config=config)


async def fetch(fetcher: RepoFileFetcher, repo: str = "owner/private"):
    return await fetcher.fetch(
        LaunchedRepo("gh", "github.com", repo, SHA), ".resources"
    )


def authorizations(server: RawFileServer) -> list[str | None]:
    return [headers.get("Authorization") for _, _, headers in server.requests]


async def test_a_redirect_to_another_host_is_followed_without_the_token(
    http_client, fetcher, raw, other
):
    raw.redirects[PATH] = other.url + PATH
    other.files[PATH] = b"cpur=2\n"
    assert (await fetch(fetcher)).data == b"cpur=2\n"
    assert authorizations(raw) == [f"token {TOKEN}"]
    assert authorizations(other) == [None]
    assert all(TOKEN not in str(h) for _, _, h in other.requests)


async def test_a_redirect_on_the_configured_host_keeps_the_token(
    http_client, fetcher, raw
):
    raw.redirects[PATH] = f"/moved{PATH}"
    raw.files[f"/moved{PATH}"] = b"cpul=3\n"
    raw.required_headers = {"Authorization": f"token {TOKEN}"}
    assert (await fetch(fetcher)).data == b"cpul=3\n"
    assert authorizations(raw) == [f"token {TOKEN}"] * 2


async def test_a_token_once_dropped_is_not_sent_again(http_client, fetcher, raw, other):
    raw.redirects[PATH] = other.url + "/bounce"
    other.redirects["/bounce"] = raw.url + "/back"
    raw.files["/back"] = b"gpu=0\n"
    assert (await fetch(fetcher)).data == b"gpu=0\n"
    assert authorizations(raw) == [f"token {TOKEN}", None]
    assert authorizations(other) == [None]


async def test_not_found_behind_a_redirect_without_the_token_is_no_answer(
    http_client, fetcher, raw, other
):
    raw.redirects[PATH] = other.url + PATH  # other has no such file: 404
    with pytest.raises(FetchError, match="access token is not sent"):
        await fetch(fetcher)


async def test_redirects_are_bounded(http_client, fetcher, raw):
    raw.faults[PATH] = "redirect-loop"
    with pytest.raises(FetchError, match="more than 3 redirects"):
        await fetch(fetcher)
    assert len(raw.requests) == 4  # the request and 3 redirects


@pytest.mark.parametrize(
    ("url", "location", "refusal"),
    [
        ("https://raw.example.org/a", "http://raw.example.org/a", "https to http"),
        ("https://raw.example.org/a", "//other.example.org/a", None),
        ("http://raw.example.org/a", "file:///etc/passwd", "'file' URL"),
        ("https://raw.example.org/a", "ftp://raw.example.org/a", "'ftp' URL"),
        ("https://raw.example.org/a", "", "without a Location"),
        ("https://raw.example.org/a", "https://raw.example.org:x/a", "not one"),
        ("http://raw.example.org/a", "http://:80/a", "without a host"),
    ],
)
def test_redirects_never_downgrade_https(url, location, refusal):
    if refusal is None:
        assert _next_hop(url, location) == "https://other.example.org/a"
    else:
        with pytest.raises(FetchError, match=refusal):
            _next_hop(url, location)


async def test_a_launch_never_sends_the_token_to_another_host(
    http_client, make_spawner, raw, other, monkeypatch
):
    """The review's case, through the hub's own pre-spawn hook."""
    monkeypatch.setenv("TEST_GITHUB_TOKEN", TOKEN)
    raw.redirects[PATH] = other.url + PATH
    other.files[PATH] = b"cpul=2\n"
    with cerit_api() as kube:
        config = cerit_config(raw.url, kube.url)
        config.RepoFileFetcher.token_env = {"github.com": "TEST_GITHUB_TOKEN"}

        spawner = make_spawner(config)
        spawner.user_options = github("owner", "private")
        await spawner.run_pre_spawn_hook()
        source = spawner.environment[SOURCE_VARIABLE]
    assert source.startswith("from .resources of github.com/owner/private"), source
    assert authorizations(raw) == [f"token {TOKEN}"]
    assert authorizations(other) == [None]
