"""Simultaneous launches of one user through a real hub's REST API.

Threads send BinderHub's launch at once; the repository files come from a
second GitHub host whose raw-file server answers slowly, so every launch is
inside the hook, waiting for its file, while the others are checked.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from fakes.standins import LoopbackServer
from offline.hub_setup import SHA, github
from offline.local_hub import TEST_VALUES, Launch, local_hub
from tests.end_to_end.test_hub_process import home_of, logged_in, servers_of, wait_until

pytestmark = pytest.mark.slow

SLOW_HOST = "github.slow.test"
DELAY = 1.5  # seconds; RepoFileFetcher.timeout is 5


class SlowRawFiles(LoopbackServer):
    """Raw files, each answered after ``DELAY`` seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {
            f"/owner/gpu/{SHA}/.resources": b"gpu=1\n",
            f"/owner/small/{SHA}/.resources": b"cpul=1\nmeml=1\n",
        }

    def respond(self, request, method: str) -> None:
        time.sleep(DELAY)
        body = self.files.get(request.path)
        request._send(200 if body else 404, body or b"404: Not Found")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    state = tmp_path_factory.mktemp("hub")
    with SlowRawFiles() as slow:
        template = slow.url + "/{repo}/{commit}/{path}"
        fetcher = {"RepoFileFetcher": {"github_raw_urls": {SLOW_HOST: template}}}
        values = {"binderhub": {"jupyterhub": {"hub": {"config": fetcher}}}}
        extra = state / "slow-host.yaml"
        extra.write_text(yaml.safe_dump(values))
        with local_hub(state, {}, (*TEST_VALUES, extra)) as running:
            yield running


def at_once(hub, user: str, servers: list[str], repo: str) -> list[Launch]:
    options = github("owner", repo, host=SLOW_HOST)
    with ThreadPoolExecutor(len(servers)) as pool:
        launches = [pool.submit(hub.launch, user, s, options) for s in servers]
        return [launch.result() for launch in launches]


def test_simultaneous_gpu_launches_get_one_gpu(hub):
    hub.api("POST", "/users/gail")
    hub.api("POST", "/groups/gpu")
    status, body = hub.api("POST", "/groups/gpu/users", {"users": ["gail"]})
    assert status == 200, body
    launches = at_once(hub, "gail", [f"gpu-{i}" for i in range(4)], "gpu")
    ready = [launch for launch in launches if launch.outcome == "ready"]
    assert len(ready) == 1, launches
    for launch in launches:
        if launch.outcome != "ready":
            assert "ResourcePolicy.max_total_gpu" in launch.message, launch
    named = lambda: [n for n in servers_of(hub, "gail", include_stopped=True) if n]  # noqa: E731
    wait_until(lambda: len(named()) == 1, seconds=20)


def test_simultaneous_launches_fill_the_quota_once(hub):
    hub.api("POST", "/users/quinn")
    launches = at_once(hub, "quinn", [f"small-{i}" for i in range(7)], "small")
    outcomes = [launch.outcome for launch in launches]
    assert outcomes.count("ready") == 5, launches
    for launch in launches:
        if launch.outcome != "ready":
            assert "the most allowed (5)" in launch.message, launch
    assert len(servers_of(hub, "quinn")) == 5


def test_home_page_renders_a_pending_server_with_a_garbage_record(hub):
    """While its hook waits for the file, the server's stored user_options
    are the request's own, record and all: the page shows "unknown"."""
    opener = logged_in(hub, "pat")
    options = {
        **github("owner", "small", host=SLOW_HOST),
        "persistent_binderhub": {"cpu_limit": "lots", "origin": 3},
    }
    status, body = hub.api("POST", "/users/pat/servers/small-p1", options, "binder")
    assert status in (201, 202), body
    status, page = home_of(opener, hub)
    assert status == 200
    assert "starting" in page and "unknown</td>" in page
    wait_until(lambda: servers_of(hub, "pat").get("small-p1", {}).get("ready"))
    status, page = home_of(opener, hub)
    assert status == 200 and "1 CPU (up to 1)" in page
