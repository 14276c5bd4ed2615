"""A launch that finishes: KubeSpawner's own start() to a notebook that answers.

The hub is the real one with the rendered release's configuration, as in
test_hub_process.py, but nothing of KubeSpawner is replaced: it creates the
claim and the pod through a Kubernetes API, watches the pod with its
reflectors, and the hub's proxy routes to the pod's address. A Kubernetes
API server cannot run here, so the smallest honest stand-ins do: the API on
loopback with the rendered hub Role's permissions (fakes/kube_api.py), and a
node that runs each pod as a local `jupyterhub-singleuser` process with the
pod's environment and volumes (fakes/kubelet.py).
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from offline.chart import NAMESPACE
from offline.hub_setup import SHA, github
from offline.local_hub import local_hub, pod_of, stop_server

pytestmark = pytest.mark.slow

FILES = {f"/owner/repo/{SHA}/.resources": b"cpur=0.5\ncpul=3\nmemr=1\nmeml=3\n"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with local_hub(tmp_path_factory.mktemp("cluster"), FILES, cluster=True) as hub:
        hub.api("POST", "/users/alice")
        hub.alice = hub.new_token("alice")
        yield hub


def notebook(hub, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Call a server of alice's through the hub's proxy, with her token."""
    return hub.call(method, path, body, service=f"token:{hub.alice}")


def launched(hub, server: str) -> dict[str, Any]:
    result = hub.launch("alice", server, github("owner", "repo"))
    assert result.outcome == "ready", (result, hub.log.read_text()[-4000:])
    pod = pod_of(hub, "alice", server)
    assert pod is not None
    return pod


def write(hub, server: str, name: str, text: str) -> str:
    """Write a file into alice's persistent folder through a server's
    contents API; its contents API path."""
    path = f"api/contents/home/alice-nfs-pvc/{name}"
    status, body = notebook(
        hub,
        "PUT",
        f"/user/alice/{server}/{path}",
        {"type": "file", "format": "text", "content": text},
    )
    assert status in (200, 201), body
    return path


def running(hub, server: str) -> dict[str, Any]:
    """alice's server's pod, launched now unless an earlier test did."""
    return pod_of(hub, "alice", server) or launched(hub, server)


def test_a_launch_runs_a_notebook_with_the_files_resources(hub):
    pod = launched(hub, "first")
    assert pod["status"]["phase"] == "Running"
    [container] = pod["spec"]["containers"]
    resources = container["resources"]
    assert float(resources["requests"]["cpu"]) == 0.5
    assert float(resources["limits"]["cpu"]) == 3
    assert int(resources["limits"]["memory"]) == 3 * 1024**3
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (
        "from .resources of github.com/owner/repo" in env["BINDERHUB_RESOURCES_SOURCE"]
    )
    # The notebook process answers through the hub's proxy.
    status, body = notebook(hub, "GET", "/user/alice/first/api/status")
    assert status == 200, body
    # The user's key pair, from the Secret the hook made, at the paths ssh uses.
    ssh = hub.kubelet.pod_root(NAMESPACE, pod["metadata"]["name"]) / "home/jovyan/.ssh"
    secret = hub.kube.get("secrets", NAMESPACE, "alice-ssh-key")
    assert secret is not None
    assert (ssh / "ssh.pub").read_bytes() == base64.b64decode(secret["data"]["ssh.pub"])
    assert (ssh / "ssh.priv").read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY")
    assert (ssh / "ssh.priv").stat().st_mode & 0o777 == 0o440


def test_a_file_written_by_one_server_is_read_by_another(hub):
    for server in ("first", "second"):
        running(hub, server)
    path = write(hub, "first", "results.txt", "written by first")
    status, body = notebook(hub, "GET", f"/user/alice/second/{path}")
    assert status == 200, body
    assert body["content"] == "written by first"


def test_stop_ends_the_pod_and_keeps_the_claim_and_the_key(hub):
    """The loopback cluster collects garbage as a real one does (the pod's
    dependents go with it), so the claim and the key must name no owner
    that a stop deletes; they name none at all."""
    pod = running(hub, "second")
    name = pod["metadata"]["name"]
    for resource, kept in (
        ("persistentvolumeclaims", "alice-nfs-pvc"),
        ("secrets", "alice-ssh-key"),
    ):
        obj = hub.kube.get(resource, NAMESPACE, kept)
        assert "ownerReferences" not in obj["metadata"], obj["metadata"]
    stop_server(hub, "alice", "second")
    assert (NAMESPACE, name) not in hub.kubelet.pods
    assert hub.kube.get("persistentvolumeclaims", NAMESPACE, "alice-nfs-pvc")
    assert hub.kube.get("secrets", NAMESPACE, "alice-ssh-key")
    status, _ = notebook(hub, "GET", "/user/alice/second/api/status")
    assert status != 200


def test_a_deleted_servers_files_and_key_come_back_in_the_next_launch(hub):
    """Delete removes the server, never the user's claim or key Secret: the
    next launch mounts the same folder and the same key pair."""
    pod = running(hub, "first")
    ssh = hub.kubelet.pod_root(NAMESPACE, pod["metadata"]["name"]) / "home/jovyan/.ssh"
    public_key = (ssh / "ssh.pub").read_bytes()
    path = write(hub, "first", "kept.txt", "still here")
    status, body = hub.api("DELETE", "/users/alice/servers/first", {"remove": True})
    assert status in (202, 204), body
    deadline = time.monotonic() + 60
    while (
        "first"
        in hub.api("GET", "/users/alice?include_stopped_servers=1")[1]["servers"]
    ):
        assert time.monotonic() < deadline, "the server was not removed"
        time.sleep(0.2)
    assert pod_of(hub, "alice", "first") is None
    assert hub.kube.get("persistentvolumeclaims", NAMESPACE, "alice-nfs-pvc")
    assert hub.kube.get("secrets", NAMESPACE, "alice-ssh-key")

    again = launched(hub, "third")
    ssh = (
        hub.kubelet.pod_root(NAMESPACE, again["metadata"]["name"]) / "home/jovyan/.ssh"
    )
    assert (ssh / "ssh.pub").read_bytes() == public_key
    status, body = notebook(hub, "GET", f"/user/alice/third/{path}")
    assert status == 200, body
    assert body["content"] == "still here"
