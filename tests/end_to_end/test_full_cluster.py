"""A full service, as a user reads it under BinderHub's loading bar.

values/cerit.yaml with a namespace quota of one GPU, on the loopback
cluster whose admission counts it as Kubernetes does (fakes/admission.py),
behind the real BinderHub, users logging in through the loopback OpenID
Connect provider (as test_login.py). One user's notebook takes the GPU; the
next user's GPU launch is refused before any pod is asked for, with what
ran out and what to do; nothing of it is left, and the same
repository without a GPU still launches.
"""

from __future__ import annotations

import html
import re

import pytest

from offline.hub_setup import SHA
from offline.local_hub import pod_of
from offline.login import LOGIN_VALUES, log_in_http, members_service
from tests.conftest import DATA

pytestmark = pytest.mark.slow

OTHER_SHA = "fedcba9876543210fedcba9876543210fedcba98"
FILES = {
    f"/lab/gpu-model/{SHA}/.resources": b"gpu=1\ncpul=2\nmeml=2\n",
    f"/lab/cpu-model/{OTHER_SHA}/.resources": b"cpul=2\nmeml=2\n",
}
COMMITS = {("lab", "gpu-model", "main"): SHA, ("lab", "cpu-model", "main"): OTHER_SHA}
VALUES = (*LOGIN_VALUES, DATA / "full-cluster-values.yaml")
FULL = "Launch refused: the service is full: 1 of its 1 GPUs are in use"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    state = tmp_path_factory.mktemp("full")
    with members_service(state, FILES, COMMITS, VALUES) as running:
        yield running


def test_the_last_gpu_taken_the_next_gpu_launch_reads_why_once(service):
    hub, binder = service
    tokens, browsers = {}, {}
    for user in ("ada", "ben"):
        browsers[user] = log_in_http(hub.url, user)
        tokens[user] = hub.new_token(user)

    events = binder.build("gh/lab/gpu-model/main", tokens["ada"])
    assert events[-1]["phase"] == "ready", (events, hub.log.read_text()[-3000:])

    events = binder.build("gh/lab/gpu-model/main", tokens["ben"])
    assert events[-1]["phase"] == "failed", events
    # What BinderHub's page ends on: the hub's refusal, not Kubernetes' 403,
    # and only there: BinderHub's launcher relays the hub's progress events,
    # and the hub's failure event is not relayed before the failure itself
    # (pyconfig/binder/launcher.py).
    last = events[-1]["message"]
    assert last.startswith(f"Spawn failed: {FULL}"), events[-1]
    assert "launch without a GPU (no gpu= in .resources)" in last
    messages = " ".join(e.get("message", "") for e in events)
    assert messages.count(FULL) == 1, events
    assert "Forbidden" not in messages and "exceeded quota" not in messages
    # Nothing of the refused launch is left: no pod, no server.
    _, ben = hub.api("GET", "/users/ben?include_stopped_servers=1")
    assert all(pod_of(hub, "ben", name) is None for name in ben["servers"])

    # The same user without a GPU fits.
    events = binder.build("gh/lab/cpu-model/main", tokens["ben"])
    assert events[-1]["phase"] == "ready", (events, hub.log.read_text()[-3000:])

    # The quota's use, as /hub/metrics shows it.
    status, metrics = hub.call("GET", "/hub/metrics")
    assert status == 200
    used = (
        'persistent_binderhub_namespace_quota{kind="used",'
        'quota="persistent-binderhub",resource="requests.nvidia.com/gpu"} 1.0'
    )
    assert used in metrics, metrics[-2000:]

    # And as the home page shows it, to every user: ada's notebook holds the
    # GPU, and each holds its 2 cores.
    with browsers["ben"].open(f"{hub.url}/hub/home", timeout=30) as page:
        home = html.unescape(page.read().decode())
    assert "The service's capacity" in home
    assert "<li>GPUs: 1 of 1 in use</li>" in home, home[-3000:]
    assert re.search(r"<li>CPU: \d+ of \d+ cores held</li>", home)
