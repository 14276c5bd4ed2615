"""Faults on the loopback cluster: the API fails or hangs, a pod never
starts, the hub restarts.

The real hub with KubeSpawner's own start() and stop(), against the
Kubernetes API stand-in and the node of fakes/kubelet.py (see
test_launch_to_notebook.py); each fault is aimed at one call
(fakes/kube_api.Fault) or at the node. In each case the launch fails with a
message that says what happened, nothing of the failed server is left in
the hub or the API, and the next launch works. A hub restart keeps the
running notebooks listed and reachable.
"""

from __future__ import annotations

import time

import pytest

from fakes.kube_api import Fault
from offline.chart import NAMESPACE
from offline.hub_setup import SHA, github
from offline.local_hub import TEST_VALUES, local_hub
from tests.conftest import DATA

pytestmark = pytest.mark.slow

FILES = {f"/owner/repo/{SHA}/.resources": b"cpul=2\n"}
FAULT_VALUES = (*TEST_VALUES, DATA / "cluster-faults-values.yaml")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    state = tmp_path_factory.mktemp("faults")
    with local_hub(state, FILES, FAULT_VALUES, cluster=True) as hub:
        hub.api("POST", "/users/alice")
        yield hub


def launch(hub, server: str):
    return hub.launch("alice", server, github("owner", "repo"))


def gone(hub, server: str, seconds: float = 30) -> bool:
    """The server is no longer in the hub, and no pod of it in the API."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, user = hub.api("GET", "/users/alice?include_stopped_servers=1")
        pods = [
            p
            for p in hub.kube.list("pods", NAMESPACE)
            if (p["metadata"].get("annotations") or {}).get(
                "hub.jupyter.org/servername"
            )
            == server
        ]
        if server not in user["servers"] and not pods:
            return True
        time.sleep(0.3)
    return False


def test_a_pod_that_never_starts_fails_in_time_and_leaves_nothing(hub):
    hub.kubelet.start_pods = False
    try:
        result = launch(hub, "held")
    finally:
        hub.kubelet.start_pods = True
    assert result.outcome == "failed", result
    assert result.message.startswith("Spawn failed"), result
    # KubeSpawner's timeout and the hub's own (the same 8 s) race; whichever
    # gives up first says so in the hub's log.
    log = hub.log.read_text()
    assert (
        "jupyter-alice--held did not start in 8" in log
        or "alice's server failed to start in 8 seconds" in log
    ), log[-3000:]
    assert gone(hub, "held"), hub.log.read_text()[-3000:]
    assert launch(hub, "after-held").outcome == "ready"


def test_an_api_error_on_the_pod_create_fails_the_launch_and_the_next_works(hub):
    hub.kube.faults.append(Fault("create", "pods", status=500))
    result = launch(hub, "broken-api")
    assert result.outcome == "failed", result
    assert "500" in result.message, result
    assert gone(hub, "broken-api"), hub.log.read_text()[-3000:]
    assert launch(hub, "after-500").outcome == "ready"


def test_a_pod_created_after_its_launch_failed_is_deleted(hub):
    """A slow API server applies pod creates after KubeSpawner stopped
    waiting for them: every create hangs 7 s, KubeSpawner waits 3 s a try
    and retries for 6 s, so the launch fails and the hub stops the server
    while its last create is still in flight; that create lands about 4 s
    later. The failed server is removed, and the late pod is deleted once
    KubeSpawner's retries would be over."""
    hub.kube.faults.extend([Fault("create", "pods", status=0, hang=7)] * 6)
    try:
        result = launch(hub, "late-pod")
        assert result.outcome == "failed", result
        hub.kube.faults.clear()  # the tries still in flight keep theirs
        deadline = time.monotonic() + 40
        while "created after its launch had failed" not in hub.log.read_text():
            assert time.monotonic() < deadline, hub.log.read_text()[-3000:]
            time.sleep(0.5)
        assert gone(hub, "late-pod"), hub.log.read_text()[-3000:]
    finally:
        hub.kube.faults.clear()
    assert launch(hub, "after-late-pod").outcome == "ready"


def test_a_hung_secret_read_refuses_the_launch_and_the_next_works(hub):
    # It answers after 30 s: a launch that waited for it would start.
    hub.kube.faults.append(Fault("get", "secrets", status=0, hang=30))
    result = launch(hub, "hung-api")
    assert result.outcome == "failed", result
    assert "did not answer in 2 s" in result.message, result
    assert "try again" in result.message
    assert gone(hub, "hung-api"), hub.log.read_text()[-3000:]
    assert launch(hub, "after-hang").outcome == "ready"


def test_servers_outlive_a_hub_restart(hub):
    """The hub pod is replaced (an upgrade, a crash): the notebooks keep
    running, and the new hub lists them and routes to them again."""
    assert launch(hub, "long-lived").outcome == "ready"
    alice = f"token:{hub.new_token('alice', 'restart')}"
    path = "/user/alice/long-lived/api/status"
    assert hub.call("GET", path, service=alice)[0] == 200
    pod = next(
        p
        for p in hub.kube.list("pods", NAMESPACE)
        if (p["metadata"].get("annotations") or {}).get("hub.jupyter.org/servername")
        == "long-lived"
    )
    process = hub.kubelet.pods[(NAMESPACE, pod["metadata"]["name"])].process

    hub.restart()

    assert process.poll() is None  # the notebook never stopped
    _, user = hub.api("GET", "/users/alice")
    assert user["servers"]["long-lived"]["ready"], user["servers"]
    deadline = time.monotonic() + 30  # the new proxy gets its routes back
    while hub.call("GET", path, service=alice)[0] != 200:
        assert time.monotonic() < deadline, hub.log.read_text()[-3000:]
        time.sleep(0.3)
