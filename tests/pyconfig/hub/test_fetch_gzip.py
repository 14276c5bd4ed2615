"""The 64 KiB cap holds for the bytes the parser would get: nothing is
decompressed, gzip is not asked for, and an encoding sent anyway is refused.

A small gzip body can hold megabytes (the review: 60 KiB of gzip became
62.9 MB before any size check). Run on tornado's simple client and on pycurl.
"""

from __future__ import annotations

import pytest
from traitlets.config import Config

from offline.hub_setup import SHA
from pyconfig.hub.repo_files import FetchError, RepoFileFetcher
from pyconfig.hub.repo_spec import LaunchedRepo
from pyconfig.resources.parser import MAX_BYTES

PATH = f"/owner/repo/{SHA}/.resources"


@pytest.fixture
def fetcher(raw):
    config = Config()
    config.RepoFileFetcher.github_raw_urls = {
        "github.com": raw.url + "/{repo}/{commit}/{path}"
    }
    config.RepoFileFetcher.timeout = 2.0
    return RepoFileFetcher(config=config)


async def fetch(fetcher: RepoFileFetcher):
    return await fetcher.fetch(
        LaunchedRepo("gh", "github.com", "owner/repo", SHA), ".resources"
    )


async def test_a_gzip_bomb_is_refused_unread(http_client, fetcher, raw):
    raw.gzipped[PATH] = b"#" * (8 * 1024 * 1024)  # about 8 KiB once compressed
    with pytest.raises(FetchError, match="Content-Encoding 'gzip'"):
        await fetch(fetcher)


async def test_a_small_gzip_body_is_refused_too(http_client, fetcher, raw):
    raw.gzipped[PATH] = b"cpur=2\n"
    with pytest.raises(FetchError, match="not asked for"):
        await fetch(fetcher)


async def test_no_compression_is_asked_for(http_client, fetcher, raw):
    raw.files[PATH] = b"cpur=2\n"
    assert (await fetch(fetcher)).data == b"cpur=2\n"
    [(_, _, headers)] = raw.requests
    assert "Accept-Encoding" not in headers, headers


@pytest.mark.parametrize("fault", ["huge", "huge-chunked"])
async def test_the_cap_holds_on_every_client(http_client, fetcher, raw, fault):
    raw.faults[PATH] = fault
    with pytest.raises(FetchError, match=f"larger than {MAX_BYTES} bytes"):
        await fetch(fetcher)


async def test_a_file_of_exactly_the_cap_is_read(http_client, fetcher, raw):
    raw.files[PATH] = b"#" * MAX_BYTES
    assert (await fetch(fetcher)).data == b"#" * MAX_BYTES
