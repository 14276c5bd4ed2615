"""Idle servers go, through the chart's own culler, and nothing of the user's does.

The hub is the real one on the loopback cluster (as in
test_launch_to_notebook.py), and the culler is the service z2jh builds from
``cull.*`` (`python3 -m jupyterhub_idle_culler --timeout=... --cull-every=...
--remove-named-servers`, no --cull-users), run by the hub as in the pod.
Only its timing is shortened (tests/data/cull-test-values.yaml): a minute
idle instead of a week, a check every 10 s instead of every hour.

One timeline for all tests, in the module fixture: alice launches ``busy``,
which is then kept in use through the hub's proxy, then ``parked`` (stopped
at once) and ``idle``; bob launches ``idle``, his only server. Then nothing
touches the idle servers until the culler removes them; each removal time is
observed by polling the hub API every second, and compared with the moment
alice's home page gave for it.

What keeps a server alive is the proxy, not the notebook server's own
report: configurable-http-proxy stamps a route's ``last_activity`` on every
request it forwards, and the hub copies that into the server's
``last_activity`` every ``JupyterHub.last_activity_interval`` seconds (z2jh
sets 60, here 5), which is what the culler reads. The requests here are
``GET .../api/status``, which jupyter_server itself does not count as
activity (``_track_activity = False``), and jupyterhub-singleuser reports
its own activity only every 300 s (JUPYTERHUB_ACTIVITY_INTERVAL), longer
than the timeout. So the busy server lives on the proxy's route activity
alone: with ``last_activity_interval`` at 600 s, the same requests do not
save it and it is culled with the idle ones.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from offline.chart import NAMESPACE
from offline.hub_setup import SHA, github
from offline.local_hub import (
    TEST_VALUES,
    Hub,
    local_hub,
    pod_of,
    stop_server,
)
from tests.conftest import DATA
from tests.end_to_end.test_hub_process import home_of, logged_in, servers_of

pytestmark = pytest.mark.slow

CULL_VALUES = DATA / "cull-test-values.yaml"
_JUPYTERHUB = yaml.safe_load(CULL_VALUES.read_text())["binderhub"]["jupyterhub"]
TIMEOUT: int = _JUPYTERHUB["cull"]["timeout"]
EVERY: int = _JUPYTERHUB["cull"]["every"]
ACTIVITY_INTERVAL: int = _JUPYTERHUB["hub"]["config"]["JupyterHub"][
    "last_activity_interval"
]
#: After the culler's check, its DELETE, the pod's stop and the removal from
#: the hub's database; and the poll's second. "To the minute".
SLACK = 60
#: Seconds between requests to the busy server through the proxy.
POKE = 2

FILES = {f"/owner/repo/{SHA}/.resources": b"cpul=1\nmeml=1\n"}


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse(stamp: str) -> datetime:
    """A hub API or <time datetime> timestamp, as an aware UTC datetime."""
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def launched(hub: Hub, user: str, server: str) -> None:
    result = hub.launch(user, server, github("owner", "repo"))
    assert result.outcome == "ready", (result, hub.log.read_text()[-4000:])


def removal_moment(page: str, server: str) -> datetime:
    """The <time datetime> in ``server``'s row of a home page."""
    start = page.index(f'data-server-name="{server}"')
    row = page[start : page.index("</tr>", start)]
    match = re.search(r'<time datetime="([^"]+)"', row)
    assert match, row
    assert match.group(1).endswith("Z"), match.group(1)
    return parse(match.group(1))


class Poking(threading.Thread):
    """Requests to a server through the hub's proxy, every POKE seconds, as
    a user working in it makes them."""

    def __init__(self, hub: Hub, token: str, path: str) -> None:
        super().__init__(daemon=True)
        self.hub, self.token, self.path = hub, token, path
        self.statuses: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            status, _ = self.hub.call("GET", self.path, service=f"token:{self.token}")
            self.statuses.append(status)
            self.done.wait(POKE)

    def __enter__(self) -> Poking:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join(timeout=60)


@dataclass
class Timeline:
    """What the fixture saw; the tests judge it."""

    hub: Hub
    busy_ready: datetime  # busy answered, before any request to it
    page_moment: datetime  # alice's page: when alice/idle goes, at the earliest
    page_last_activity: datetime  # alice/idle's last_activity when the page was read
    removed: dict[str, datetime] = field(default_factory=dict)  # first seen gone
    busy_last_activity: datetime | None = None  # after the idle ones went
    poke_statuses: list[int] = field(default_factory=list)


def last_activity(hub: Hub, user: str, server: str) -> datetime:
    return parse(servers_of(hub, user)[server]["last_activity"])


@pytest.fixture(scope="module")
def timeline(tmp_path_factory) -> Iterator[Timeline]:
    state = tmp_path_factory.mktemp("culling")
    values = (*TEST_VALUES, CULL_VALUES)
    with local_hub(state, FILES, values, cluster=True) as hub:
        for user in ("alice", "bob"):
            hub.api("POST", f"/users/{user}")
        token = hub.new_token("alice", "working")
        launched(hub, "alice", "busy")
        busy_ready = utcnow()
        busy = Poking(hub, token, "/user/alice/busy/api/status")
        with busy:
            launched(hub, "alice", "parked")
            stop_server(hub, "alice", "parked")
            launched(hub, "alice", "idle")
            launched(hub, "bob", "idle")
            # The proxy stamps a new route when it is added, after the
            # launch's own activity: let the hub take that in first.
            time.sleep(2 * ACTIVITY_INTERVAL + 1)
            status, page = home_of(logged_in(hub, "alice"), hub)
            assert status == 200, page
            seen = Timeline(
                hub,
                busy_ready,
                removal_moment(page, "idle"),
                last_activity(hub, "alice", "idle"),
            )
            bob_active = parse(hub.api("GET", "/users/bob")[1]["last_activity"])
            watched = {"alice/idle": ("alice", "idle"), "bob/idle": ("bob", "idle")}
            latest = seen.page_moment + timedelta(seconds=EVERY + SLACK + 30)
            while utcnow() < latest and len(seen.removed) < len(watched):
                time.sleep(1)
                for key, (user, server) in watched.items():
                    if key in seen.removed:
                        continue
                    if server not in servers_of(hub, user, include_stopped=True):
                        seen.removed[key] = utcnow()
            # One more check of the culler with busy still in use, and past
            # the moment a --cull-users culler would have deleted bob.
            bob_due = bob_active + timedelta(seconds=TIMEOUT)
            last = max([*seen.removed.values(), bob_due])
            until = last + timedelta(seconds=EVERY + 2)
            time.sleep(max(0.0, (until - utcnow()).total_seconds()))
            if "busy" in (servers := servers_of(hub, "alice")):
                seen.busy_last_activity = parse(servers["busy"]["last_activity"])
        seen.poke_statuses = busy.statuses
        yield seen


def test_an_idle_named_server_is_stopped_and_removed_by_the_culler(timeline):
    hub = timeline.hub
    assert timeline.removed.get("alice/idle"), "alice/idle was not removed"
    assert "idle" not in servers_of(hub, "alice", include_stopped=True)
    assert pod_of(hub, "alice", "idle") is None
    # The chart's culler did it, not something else.
    log = hub.log.read_text()
    assert "Culling server alice/idle (inactive for" in log
    assert "Culling server bob/idle (inactive for" in log


def test_the_users_claim_key_and_other_servers_remain(timeline):
    """Removal calls KubeSpawner's delete_forever, which would delete the
    claim were delete_pvc on; ours is off (pyconfig/hub/storage.py) and the
    claim is shared, so nothing of the user's is deleted."""
    hub = timeline.hub
    for user in ("alice", "bob"):
        assert hub.kube.get("persistentvolumeclaims", NAMESPACE, f"{user}-nfs-pvc")
        assert hub.kube.get("secrets", NAMESPACE, f"{user}-ssh-key")
    log = hub.log.read_text()
    assert "Not deleting pvc for alice/idle: alice-nfs-pvc" in log
    deletes = [path for _, path in hub.kube.calls("DELETE")]
    assert deletes and all("/pods/" in path for path in deletes), deletes
    servers = servers_of(hub, "alice", include_stopped=True)
    assert set(servers) - {""} == {"busy", "parked"}
    assert not servers["parked"]["ready"]  # stopped servers are not culled
    assert servers["busy"]["ready"] and pod_of(hub, "alice", "busy") is not None


def test_a_server_in_use_through_the_proxy_is_kept(timeline):
    """busy was launched before alice/idle, so without its requests it would
    have been idle at least as long at the check that removed alice/idle."""
    assert timeline.busy_ready <= timeline.page_last_activity
    assert timeline.poke_statuses and set(timeline.poke_statuses) == {200}
    assert timeline.removed.get("alice/idle")
    # Still there a check after that, its activity since then known to the hub.
    assert timeline.busy_last_activity is not None, "busy was culled"
    assert timeline.busy_last_activity >= timeline.removed["alice/idle"]


def test_the_user_is_never_deleted(timeline):
    """The culler runs without --cull-users: bob's only server goes, bob stays."""
    hub = timeline.hub
    assert timeline.removed.get("bob/idle"), "bob/idle was not removed"
    status, body = hub.api("GET", "/users/bob?include_stopped_servers")
    assert status == 200, body
    assert set(body["servers"]) <= {""}  # the default server's record, never used
    assert "Culling user" not in hub.log.read_text()


def test_the_home_page_says_when_the_culler_removes_it(timeline):
    """The page's <time datetime> is the earliest moment (last activity +
    timeout); the culler acts at its next check, so the removal falls
    between that moment and one check interval (plus the stop) later."""
    moment = timeline.page_moment
    expected = timeline.page_last_activity + timedelta(seconds=TIMEOUT)
    assert abs(moment - expected) < timedelta(seconds=1), (moment, expected)
    removed = timeline.removed.get("alice/idle")
    assert removed is not None, "alice/idle was not removed"
    latest = moment + timedelta(seconds=EVERY + SLACK)
    assert moment <= removed <= latest, (moment, removed, latest)
