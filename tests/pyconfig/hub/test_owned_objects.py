"""A launch mounts only the claim and key Secret of its exact user.

Kubernetes is the loopback API (fakes/kube_api.py) with the release's RBAC,
the planted objects created in it first; the hook is the real one with
values/cerit.yaml's configuration. The colliding names are two that
KubeSpawner's 32-bit slug makes one (tests/identities.py).
"""

from __future__ import annotations

import base64

import pytest

from offline.hub_setup import github
from pyconfig.hub.refusal import LaunchRefused
from pyconfig.hub.ssh_keys import KEY_VOLUME
from pyconfig.hub.user_names import user_slug
from tests.identities import COLLIDING

NAMESPACE = "binderhub"  # the hub pod's namespace (z2jh)
#: The names KubeSpawner's slug gave both colliding users before.
LEGACY = "john-doe---30f69670"


def owned_by(owner: str | None, name: str, data: dict | None = None) -> dict:
    annotations = {} if owner is None else {"hub.jupyter.org/username": owner}
    return {
        "metadata": {"name": name, "namespace": NAMESPACE, "annotations": annotations},
        **({"data": data} if data is not None else {}),
    }


def plant(kube, resource: str, obj: dict) -> dict:
    """``obj`` created in the loopback API, as another user's launch left it."""
    if resource == "persistentvolumeclaims":
        obj["spec"] = {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": "10Gi"}},
        }
    return kube.create(resource, NAMESPACE, obj)


def key_data(comment: str) -> dict:
    public = f"ssh-ed25519 AAAAplanted {comment}\n".encode()
    return {
        "ssh.pub": base64.b64encode(public).decode(),
        "ssh.priv": base64.b64encode(b"planted private key").decode(),
    }


async def launch(make_spawner, config, username: str):
    spawner = make_spawner(config, username=username, server="proj")
    spawner.user_options = github("owner", "repo")
    await spawner.run_pre_spawn_hook()
    return spawner


def key_secret_of(spawner) -> str:
    volumes = spawner.volumes
    entries = volumes.values() if isinstance(volumes, dict) else volumes
    [volume] = [v for v in entries if v["name"] == KEY_VOLUME]
    return volume["secret"]["secretName"]


@pytest.mark.parametrize("owner", ["alice", None], ids=["another-user", "none"])
async def test_a_claim_of_the_users_name_owned_by_another_is_never_mounted(
    make_spawner, config, kube, owner
):
    plant(kube, "persistentvolumeclaims", owned_by(owner, "mallory-nfs-pvc"))
    with pytest.raises(LaunchRefused) as refused:
        await launch(make_spawner, config, "mallory")
    assert "mallory-nfs-pvc" in refused.value.jupyterhub_message
    assert "belongs to another user" in refused.value.jupyterhub_message
    assert refused.value.why == "storage"
    assert kube.calls("POST") == []  # no key made, nothing started


@pytest.mark.parametrize("owner", ["alice", None], ids=["another-user", "none"])
async def test_a_key_secret_of_the_users_name_owned_by_another_is_refused(
    make_spawner, config, kube, owner
):
    planted = owned_by(owner, "mallory-ssh-key", key_data("alice@elsewhere"))
    planted = plant(kube, "secrets", planted)
    with pytest.raises(LaunchRefused) as refused:
        await launch(make_spawner, config, "mallory")
    message = refused.value.jupyterhub_message
    assert "Secret mallory-ssh-key belongs to another user" in message
    assert "planted" not in message
    assert kube.calls("POST") == []
    assert kube.get("secrets", NAMESPACE, "mallory-ssh-key") == planted  # untouched


async def test_the_users_claim_and_key_under_the_legacy_name_are_taken_over(
    make_spawner, config, kube
):
    """An upgrade keeps the files and the key of a user whose objects carry
    KubeSpawner's slug, when their annotation names the user exactly."""
    user = COLLIDING[0]
    plant(kube, "persistentvolumeclaims", owned_by(user, f"{LEGACY}-nfs-pvc"))
    plant(
        kube,
        "secrets",
        owned_by(user, f"{LEGACY}-ssh-key", key_data("john.doe@persistent-binderhub")),
    )
    spawner = await launch(make_spawner, config, user)
    assert spawner.pvc_name == f"{LEGACY}-nfs-pvc"
    assert key_secret_of(spawner) == f"{LEGACY}-ssh-key"
    assert kube.calls("POST") == []  # no new key: the old public key still works


async def test_the_colliding_user_gets_their_own_claim_and_key(
    make_spawner, config, kube
):
    """The legacy objects belong to the first user: the second gets new ones."""
    first, second = COLLIDING
    plant(kube, "persistentvolumeclaims", owned_by(first, f"{LEGACY}-nfs-pvc"))
    plant(
        kube,
        "secrets",
        owned_by(first, f"{LEGACY}-ssh-key", key_data("john.doe@persistent-binderhub")),
    )
    spawner = await launch(make_spawner, config, second)
    own = user_slug(second)
    assert spawner.pvc_name == f"{own}-nfs-pvc"
    assert key_secret_of(spawner) == f"{own}-ssh-key"
    made = kube.get("secrets", NAMESPACE, f"{own}-ssh-key")
    assert made["metadata"]["annotations"]["hub.jupyter.org/username"] == second
    assert spawner.pod_name != (await launch(make_spawner, config, first)).pod_name
