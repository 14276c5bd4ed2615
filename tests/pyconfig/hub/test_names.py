"""Names that hold user data across upgrades. Changing one orphans every user's
files or keys on `helm upgrade`: these values are fixed on purpose, and this
test fails when one moves. Change them only with a migration.
"""

from __future__ import annotations

import pytest
from traitlets.config import Config

from offline import chart
from offline.hub_pod import build_spawner, config_for
from pyconfig.hub import ssh_keys, storage
from pyconfig.hub.configure import configure
from pyconfig.hub.spawn_hook import SpawnHook
from tests.conftest import ROOT

VALUES = sorted((ROOT / "values").glob("*.yaml"))


def test_volume_and_key_names_and_labels_are_unchanged():
    assert storage.UserStorage().pvc_name_template == "{username}-nfs-pvc"
    assert storage.UserStorage().mount_path == "/home/{username}-nfs-pvc"
    assert ssh_keys.SSHKeys().secret_name_template == "{username}-ssh-key"
    assert (ssh_keys.PRIVATE_KEY, ssh_keys.PUBLIC_KEY) == ("ssh.priv", "ssh.pub")
    body = ssh_keys.SSHKeys().secret_body("n", "alice", "alice", b"k", b"p")
    assert body["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "persistent-binderhub",
        "app.kubernetes.io/component": "ssh-key",
        "hub.jupyter.org/username": "alice",
    }


async def test_each_user_name_gives_these_object_names():
    """The names a launch gives are part of every user's data: an upgrade
    that changed them would point users at new, empty volumes and new keys.
    Names that are valid Kubernetes names are kept as KubeSpawner kept them;
    others carry 130 bits of SHA-256 (user_names.py), and the names they had
    before (KubeSpawner's 32-bit slug) stay known, for the take-over."""
    c = Config()
    configure(c)
    hook = SpawnHook(c)

    hashed = "alice-novak-cesnet-cz---hzlglkkqmupraro4v6r7mwshef"
    found = {}
    for user in ("alice", "alice.novak@cesnet.cz"):
        spawner = build_spawner(c, user, "repo-x1")
        hook._name_objects(spawner)  # what each launch does first
        mounts = spawner.volume_mounts
        [home] = [
            m["mountPath"] for m in _entries(mounts) if m["name"] == storage.HOME_VOLUME
        ]
        [key] = [
            v["secret"]["secretName"]
            for v in _entries(spawner.volumes)
            if v["name"] == ssh_keys.KEY_VOLUME
        ]
        found[user] = (spawner.pvc_name, key, spawner.pod_name, home)
    assert found == {
        "alice": (
            "alice-nfs-pvc",
            "alice-ssh-key",
            "jupyter-alice--repo-x1",
            "/home/alice-nfs-pvc",
        ),
        "alice.novak@cesnet.cz": (
            f"{hashed}-nfs-pvc",
            f"{hashed}-ssh-key",
            "jupyter-alice-novak-cesnet-cz-repo---wvncwirswknqihl3uf353v2d4u",
            "/home/alice.novak@cesnet.cz-nfs-pvc",
        ),
    }
    legacy = "alice-novak-cesnet-cz---3e5665a9"
    user = "alice.novak@cesnet.cz"
    assert storage.UserStorage().legacy_claim_name(user) == f"{legacy}-nfs-pvc"
    assert ssh_keys.SSHKeys().legacy_secret_name(user) == f"{legacy}-ssh-key"


def _entries(value):
    return list(value.values()) if isinstance(value, dict) else list(value)


@pytest.mark.slow  # renders each values file
@pytest.mark.parametrize("path", VALUES, ids=[p.name for p in VALUES])
def test_no_values_file_moves_them(path, tmp_path):
    c, _ = config_for(chart.load_values(path), tmp_path)
    assert c.KubeSpawner.pvc_name_template == "{username}-nfs-pvc"
    assert c.KubeSpawner.delete_pvc is False
    volume = c.KubeSpawner.volumes[ssh_keys.KEY_VOLUME]
    assert volume["secret"]["secretName"] == "{username}-ssh-key"
