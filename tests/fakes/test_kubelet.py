"""fakes/kubelet.py: a pod's life as a real kubelet lives it, seen through
the API (fakes/kube_api.py) as KubeSpawner sees it: the Normal events of a
start, volumes retried until they exist, Ready only once the server answers,
and pods/exec and Namespaces served to the real kubernetes_asyncio client."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiClient, ApiException, Configuration

from fakes.kube_api import KubeAPI
from fakes.kubelet import node
from tests.conftest import ROOT

CERIT = ROOT / "values" / "cerit.yaml"

pytestmark = pytest.mark.slow
NS = "peer"
#: Waits for a pod's process on a loaded machine; bounds loops, asserts nothing.
PATIENCE = 60.0


def until(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it is truthy (bounded)."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def script_pod(name: str, code: str, **container: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": "notebook",
                    "image": "example.org/notebook:1",
                    "command": ["python3", "-c", code],
                    **container,
                }
            ]
        },
    }


def condition(api: KubeAPI, name: str, kind: str) -> str:
    status = (api.get("pods", NS, name) or {}).get("status") or {}
    found = [c["status"] for c in status.get("conditions") or [] if c["type"] == kind]
    return found[0] if found else ""


def phase(api: KubeAPI, name: str) -> str:
    return ((api.get("pods", NS, name) or {}).get("status") or {}).get("phase", "")


#: Listens on $PORT only once the file $GATE exists (the test creates it).
GATED_SERVER = """
import os, pathlib, socket, time
gate = pathlib.Path(os.environ["GATE"])
for _ in range(6000):
    if gate.exists():
        break
    time.sleep(0.05)
server = socket.create_server((os.environ["POD_IP"], int(os.environ["PORT"])))
while True:
    server.accept()[0].close()
"""


def gated(name: str, gate: Path, port: int, **container: Any) -> dict[str, Any]:
    env = [
        {"name": "GATE", "value": str(gate)},
        {"name": "PORT", "value": str(port)},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]
    return script_pod(
        name,
        GATED_SERVER,
        env=env,
        ports=[{"name": "notebook-port", "containerPort": port}],
        **container,
    )


def test_a_started_pod_has_the_scheduler_and_kubelet_normal_events(tmp_path):
    with KubeAPI() as api, node(api, tmp_path):
        api.create("pods", NS, script_pod("events", "import time; time.sleep(600)"))
        until(lambda: phase(api, "events") == "Running", "Running")

        def events() -> list[dict]:
            found = api.list("events", NS)
            return found if len(found) >= 5 else []

        seen = until(events, "five events")
    by_reason = {e["reason"]: e for e in seen}
    assert {e["type"] for e in seen} == {"Normal"}
    assert by_reason["Scheduled"]["source"]["component"] == "default-scheduler"
    assert by_reason["Scheduled"]["message"] == (
        f"Successfully assigned {NS}/events to loopback"
    )
    image = "example.org/notebook:1"
    assert by_reason["Pulling"]["message"] == f'Pulling image "{image}"'
    assert by_reason["Pulled"]["message"].startswith(
        f'Successfully pulled image "{image}" in '
    )
    assert by_reason["Created"]["message"] == "Created container notebook"
    assert by_reason["Started"]["message"] == "Started container notebook"
    assert {by_reason[r]["source"]["component"] for r in by_reason} - {
        "default-scheduler"
    } == {"kubelet"}
    assert all(e["involvedObject"]["name"] == "events" for e in seen)


def test_a_missing_secret_is_retried_until_it_appears(tmp_path):
    pod = script_pod("mounts", "import time; time.sleep(600)")
    pod["spec"]["volumes"] = [{"name": "keys", "secret": {"secretName": "later"}}]
    pod["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "keys", "mountPath": "/etc/keys"}
    ]
    with KubeAPI() as api, node(api, tmp_path) as kubelet:
        api.create("pods", NS, pod)
        warning = until(
            lambda: [e for e in api.list("events", NS) if e["reason"] == "FailedMount"],
            "a FailedMount event",
        )
        assert phase(api, "mounts") == "Pending"
        assert ("peer", "mounts") not in kubelet.pods
        api.create(
            "secrets", NS, {"metadata": {"name": "later"}, "stringData": {"k": "v"}}
        )
        until(lambda: phase(api, "mounts") == "Running", "Running once it exists")
        mounted = kubelet.pod_root(NS, "mounts") / "etc/keys/k"
        assert mounted.read_text() == "v"
    assert warning[0]["type"] == "Warning"
    assert warning[0]["message"] == (
        'MountVolume.SetUp failed for volume "keys" : secret "later" not found'
    )


def test_retrying_ends_when_the_pod_is_deleted(tmp_path):
    pod = script_pod("gone", "import time; time.sleep(600)")
    pod["spec"]["volumes"] = [{"name": "c", "configMap": {"name": "never"}}]
    pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "c", "mountPath": "/c"}]
    with KubeAPI() as api, node(api, tmp_path) as kubelet:
        api.create("pods", NS, pod)
        until(lambda: api.list("events", NS), "a FailedMount event")
        api.delete("pods", NS, "gone")
        api.create("configmaps", NS, {"metadata": {"name": "never"}})
        # The retry sees the pod gone and ends without starting its process.
        until(lambda: (NS, "gone") not in kubelet.starting, "the retry ended")
        assert (NS, "gone") not in kubelet.pods
        assert "Started" not in {e["reason"] for e in api.list("events", NS)}


def test_ready_only_once_the_container_port_answers(tmp_path):
    gate = tmp_path / "gate"
    with KubeAPI() as api, node(api, tmp_path / "node"):
        api.create("pods", NS, gated("ready", gate, 8888))
        until(lambda: phase(api, "ready") == "Running", "Running")
        # Its process runs, but listens only once the gate exists.
        assert condition(api, "ready", "Ready") == "False"
        assert condition(api, "ready", "ContainersReady") == "False"
        statuses = api.get("pods", NS, "ready")["status"]["containerStatuses"]
        assert [s["ready"] for s in statuses] == [False]
        gate.touch()
        until(lambda: condition(api, "ready", "Ready") == "True", "Ready")
        statuses = api.get("pods", NS, "ready")["status"]["containerStatuses"]
        assert [s["ready"] for s in statuses] == [True]


def test_a_readiness_probe_decides_instead_of_the_port(tmp_path):
    gate = tmp_path / "gate"
    probe = {"tcpSocket": {"port": 9999}, "periodSeconds": 1}
    with KubeAPI() as api, node(api, tmp_path / "node"):
        # The server listens on 9999; its declared port 8888 never answers.
        api.create("pods", NS, gated("probed", gate, 9999, readinessProbe=probe))
        until(lambda: phase(api, "probed") == "Running", "Running")
        assert condition(api, "probed", "Ready") == "False"
        gate.touch()
        until(lambda: condition(api, "probed", "Ready") == "True", "Ready")


def configuration(api: KubeAPI) -> Configuration:
    return Configuration(
        host=api.url,
        api_key={"BearerToken": "token"},
        api_key_prefix={"BearerToken": "Bearer"},
    )


async def test_namespaces_are_listed_created_read_and_deleted_with_their_objects():
    with KubeAPI() as api:
        async with ApiClient(configuration(api)) as api_client:
            v1 = client.CoreV1Api(api_client)
            await v1.create_namespace({"metadata": {"name": "team"}})
            with pytest.raises(ApiException) as again:
                await v1.create_namespace({"metadata": {"name": "team"}})
            listed = await v1.list_namespace()
            read = await v1.read_namespace("team")
            await v1.create_namespaced_config_map("team", {"metadata": {"name": "a"}})
            await v1.create_namespaced_config_map("other", {"metadata": {"name": "b"}})
            across = await v1.list_config_map_for_all_namespaces()
            await v1.delete_namespace("team")
            with pytest.raises(ApiException) as gone:
                await v1.read_namespace("team")
            conflict, gone = again.value.status, gone.value.status
        left = api.list_all("configmaps")
    assert conflict == 409
    assert [n.metadata.name for n in listed.items] == ["team"]
    assert read.status.phase == "Active"
    assert sorted((c.metadata.namespace, c.metadata.name) for c in across.items) == [
        ("other", "b"),
        ("team", "a"),
    ]
    assert gone == 404
    assert [(c["metadata"]["namespace"], c["metadata"]["name"]) for c in left] == [
        ("other", "b")
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="pod namespaces need root (CI is)")
async def test_exec_runs_in_the_pod_through_the_websocket_of_pods_exec(tmp_path):
    """kubernetes_asyncio's own WebSocket client, as ``kubectl exec`` speaks."""
    from kubernetes_asyncio.stream import WsApiClient

    code = (
        "import os, socket; print(socket.gethostname(), os.environ['WHO'],"
        " socket.gethostbyname('web.peer.svc.cluster.local'))"
    )

    pod = script_pod(
        "shell",
        "import time; time.sleep(600)",
        env=[{"name": "WHO", "value": "in-the-pod"}],
    )
    pod["metadata"]["labels"] = {"app": "web"}
    with KubeAPI() as api, node(api, tmp_path):
        api.create("pods", NS, pod)
        api.create(
            "services",
            NS,
            {
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
            },
        )
        until(lambda: condition(api, "shell", "Ready") == "True", "Ready")
        ip = api.get("pods", NS, "shell")["status"]["podIP"]
        async with WsApiClient(configuration(api)) as ws:
            v1 = client.CoreV1Api(ws)
            said = await v1.connect_get_namespaced_pod_exec(
                "shell",
                NS,
                command=["python3", "-c", code],
                stderr=True,
                stdin=False,
                stdout=True,
                tty=False,
            )
    assert said.split() == ["shell", "in-the-pod", ip]


def test_a_new_claims_folder_has_the_mode_its_storage_class_gives_it(tmp_path):
    """csi-driver-nfs makes a claim's directory 755 (root, umask 022) unless
    the StorageClass sets mountPermissions; the chart's sets 0777, so the
    notebook user (uid 1000, not root) can write into a fresh volume."""
    from offline import chart

    objects = chart.manifests(chart.render(chart.load_values(CERIT)))
    [ours] = [o for o in objects if o["kind"] == "StorageClass"]
    assert ours["parameters"]["mountPermissions"] == "0777"
    bare = {"metadata": {"name": "bare"}, "parameters": {"server": "nfs"}}
    with KubeAPI() as api, node(api, tmp_path) as kubelet:
        kubelet.storage_classes = {"nfs-csi": ours, "bare": bare}
        modes = {}
        for claim, storage_class in (
            ("mine", "nfs-csi"),
            ("plain", "bare"),
            ("unknown", "gone"),
        ):
            api.create(
                "persistentvolumeclaims",
                "ns",
                {
                    "metadata": {"name": claim},
                    "spec": {"storageClassName": storage_class},
                },
            )
            folder = kubelet.claim_folder("ns", claim)
            modes[claim] = stat.S_IMODE(folder.stat().st_mode)
        assert modes == {"mine": 0o777, "plain": 0o755, "unknown": 0o755}
        # Made once: a second mount keeps what the files' owner made of it.
        (tmp_path / "claims" / "ns-mine").chmod(0o700)
        assert stat.S_IMODE(kubelet.claim_folder("ns", "mine").stat().st_mode) == 0o700
