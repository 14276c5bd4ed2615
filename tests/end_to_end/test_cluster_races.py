"""Races between removing a failed server and launching it again, with
faults injected on the loopback cluster.

The real hub with KubeSpawner's own start() and stop() against the
Kubernetes API stand-in and the node of fakes/kubelet.py (see
test_cluster_faults.py). After a server's first launch fails, the hub
removes it (``ServerQuota.remove_refused``), and once KubeSpawner's retry
window is over deletes a pod that a slow API server may still have created
for it. Both act on names, which a new launch of the same name, or a user
deleted and made anew, reuses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import quote

import pytest

from fakes.kube_api import Fault
from fakes.workloads import RELEASE_NODE
from offline.chart import NAMESPACE
from offline.hub_setup import SHA, github
from offline.local_hub import TEST_VALUES, local_hub, pod_of
from tests.conftest import DATA

pytestmark = pytest.mark.slow

FILES = {f"/owner/repo/{SHA}/.resources": b"cpul=2\n"}
RACE_VALUES = (*TEST_VALUES, DATA / "cluster-races-values.yaml")
#: Not a Kubernetes name: its claim, Secret and pod names carry a hash.
USER = "dana.o-neil@example.org"
#: KubeSpawner's retry window in RACE_VALUES, after which the late pod goes.
WINDOW = 20


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    state = tmp_path_factory.mktemp("races")
    with local_hub(state, FILES, RACE_VALUES, cluster=True) as hub:
        yield hub


def until(condition: Callable[[], object], seconds: float, hub) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, hub.log.read_text()[-4000:]
        time.sleep(0.2)


def servers(hub, user: str) -> dict:
    status, body = hub.api(
        "GET", f"/users/{quote(user, safe='')}?include_stopped_servers=1"
    )
    return body["servers"] if status == 200 else {}


def test_the_late_pod_deletion_spares_the_server_of_a_user_made_anew(hub):
    """The first launch's pod create fails (a 500), so the launch fails, the
    server is removed, and the late-pod deletion waits out the retry window.
    Inside it the admin deletes the user, makes them anew, and the new user
    launches a server of the same name: the same pod name. When the window
    ends, that pod must stay, and the server with it."""
    quoted = quote(USER, safe="")
    assert hub.api("POST", f"/users/{quoted}")[0] == 201
    hub.kube.faults.append(Fault("create", "pods", status=500))
    failed = hub.launch(USER, "twin", github("owner", "repo"))
    assert failed.outcome == "failed", failed
    started = time.monotonic()
    until(lambda: "twin" not in servers(hub, USER), 15, hub)

    assert hub.api("DELETE", f"/users/{quoted}")[0] == 204
    assert hub.api("POST", f"/users/{quoted}")[0] == 201
    again = hub.launch(USER, "twin", github("owner", "repo"))
    assert again.outcome == "ready", (again, hub.log.read_text()[-3000:])
    pod = pod_of(hub, USER, "twin")
    assert pod is not None
    # The test holds only if the new pod was there before the window ended.
    assert time.monotonic() - started < WINDOW, "too slow to race: raise WINDOW"

    # The new launch calls the late-pod deletion off; had it not, the
    # deletion would act once the window is over: wait that long.
    assert f"Removal of {USER}/twin (or of its late pod) called off" in (
        hub.log.read_text()
    )
    time.sleep(max(0.0, started + WINDOW + 3 - time.monotonic()))
    assert "Late pod check of" not in hub.log.read_text()
    after = pod_of(hub, USER, "twin")
    assert after is not None, hub.log.read_text()[-3000:]
    assert after["metadata"]["uid"] == pod["metadata"]["uid"]
    server = servers(hub, USER)["twin"]
    assert server["ready"], server
    token = hub.new_token(USER, "race")
    path = f"{server['url']}api/status"  # as the hub routes it
    assert hub.call("GET", path, service=f"token:{token}")[0] == 200


def test_a_late_pod_of_a_deleted_user_is_still_deleted(hub):
    """The user is deleted right after their launch failed, and the slow API
    server applies that launch's pod create after all. The removal finds
    its user gone; the late pod is deleted all the same once the window
    ends. The late pod is planted by the test's hand, as the API server
    would store it, bound to a node that runs nothing."""
    user = "Eve.Late"
    quoted = quote(user, safe="")
    assert hub.api("POST", f"/users/{quoted}")[0] == 201
    hub.kube.faults.append(Fault("create", "pods", status=500))
    failed = hub.launch(user, "gone", github("owner", "repo"))
    assert failed.outcome == "failed", failed
    [name] = re.findall(r"Attempting to create pod (\S+), with", hub.log.read_text())[
        -1:
    ]
    assert hub.api("DELETE", f"/users/{quoted}")[0] == 204
    hub.kube.create(
        "pods",
        NAMESPACE,
        {
            "metadata": {"name": name, "labels": {"component": "singleuser-server"}},
            "spec": {
                "nodeName": RELEASE_NODE,
                "containers": [{"name": "notebook", "image": "late"}],
            },
        },
    )
    until(
        lambda: f"Late pod check of {name}: deleted" in hub.log.read_text(),
        WINDOW + 15,
        hub,
    )
    assert hub.kube.get("pods", NAMESPACE, name) is None
