"""Two logged-in users whose names KubeSpawner's slug makes one keep their
volumes, keys and notebooks apart, on the loopback cluster.

BinderHub, the hub (values/cerit.yaml's login through the loopback OpenID
Connect provider), the Kubernetes API with the rendered Roles and the node
running each pod as a notebook process are those of test_login.py. The
first user launches through BinderHub; the second, as a hostile user would,
asks the hub API with their own token for a server of the same name.
"""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from offline.chart import NAMESPACE
from offline.hub_setup import SHA, github
from offline.local_hub import pod_of
from offline.login import LOGIN_VALUES, log_in_http, members_service
from pyconfig.hub.user_names import path_name
from tests.identities import COLLIDING

pytestmark = pytest.mark.slow

FILES = {f"/lab/model/{SHA}/.resources": b"cpul=2\nmeml=2\n"}
COMMITS = {("lab", "model", "main"): SHA}
OWNER = "hub.jupyter.org/username"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    state = tmp_path_factory.mktemp("colliding")
    with members_service(state, FILES, COMMITS, LOGIN_VALUES) as running:
        yield running


def contents(hub, user: str, server: str, token: str, path: str):
    """A path of the server's file tree through the proxy, as its user."""
    quoted = urllib.parse.quote(user, safe="")
    return hub.call(
        "GET", f"/user/{quoted}/{server}/api/contents/{path}", service=f"token:{token}"
    )


def test_colliding_users_get_their_own_claim_key_and_notebook(service):
    hub, binder = service
    first, second = COLLIDING
    tokens = {}
    for user in COLLIDING:
        log_in_http(hub.url, user)
        tokens[user] = hub.new_token(user)

    events = binder.build("gh/lab/model/main", tokens[first])
    assert events[-1]["phase"] == "ready", (events, hub.log.read_text()[-3000:])
    server = events[-1]["url"].rstrip("/").rsplit("/", 1)[1]
    home = f"home/{path_name(first)}-nfs-pvc"
    status, body = hub.call(
        "PUT",
        f"/user/{first}/{server}/api/contents/{home}/private.txt",
        {"type": "file", "format": "text", "content": "only mine"},
        service=f"token:{tokens[first]}",
    )
    assert status in (200, 201), body

    # The second user asks for a server of the same name, with their token.
    launched = hub.launch(
        second, server, github("lab", "model"), service=f"token:{tokens[second]}"
    )
    assert launched.outcome == "ready", (launched, hub.log.read_text()[-3000:])

    pods = {user: pod_of(hub, user, server) for user in COLLIDING}
    assert all(pods.values()), pods
    assert pods[first]["metadata"]["name"] != pods[second]["metadata"]["name"]
    # The first notebook still runs and answers, with the file in it.
    status, body = contents(hub, first, server, tokens[first], f"{home}/private.txt")
    assert status == 200 and body["content"] == "only mine", body

    claims, keys = {}, {}
    for user, pod in pods.items():
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        claims[user] = volumes["persistent-binderhub-home"]["persistentVolumeClaim"][
            "claimName"
        ]
        keys[user] = volumes["persistent-binderhub-ssh-key"]["secret"]["secretName"]
        claim = hub.kube.get("persistentvolumeclaims", NAMESPACE, claims[user])
        secret = hub.kube.get("secrets", NAMESPACE, keys[user])
        assert claim["metadata"]["annotations"][OWNER] == user
        assert secret["metadata"]["annotations"][OWNER] == user
    assert claims[first] != claims[second]
    assert keys[first] != keys[second]
    public = {
        user: base64.b64decode(
            hub.kube.get("secrets", NAMESPACE, keys[user])["data"]["ssh.pub"]
        )
        for user in COLLIDING
    }
    assert public[first] != public[second]

    # The second user's notebook has its own home, without the first's file.
    own = f"home/{path_name(second)}-nfs-pvc"
    status, listing = contents(hub, second, server, tokens[second], own)
    assert status == 200, listing
    assert [item["name"] for item in listing["content"]] == []
    status, _ = contents(hub, second, server, tokens[second], f"{home}/private.txt")
    assert status == 404


def test_a_claim_of_the_users_name_that_is_anothers_is_refused_through_binderhub(
    service,
):
    """The user reads why under the loading bar; nothing of theirs is made."""
    hub, binder = service
    user = "mallory"
    log_in_http(hub.url, user)
    hub.kube.create(
        "persistentvolumeclaims",
        NAMESPACE,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{user}-nfs-pvc", "annotations": {OWNER: "alice"}},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    events = binder.build("gh/lab/model/main", hub.new_token(user))
    assert events[-1]["phase"] == "failed", events
    assert "belongs to another user" in events[-1]["message"], events[-1]
    mine = [
        obj["metadata"]["name"]
        for resource in ("pods", "secrets")
        for obj in hub.kube.list(resource, NAMESPACE)
        if (obj["metadata"].get("annotations") or {}).get(OWNER) == user
    ]
    assert mine == []
