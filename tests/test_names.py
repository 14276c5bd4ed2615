"""Names that hold user data across upgrades. Changing one orphans every user's
files or keys on `helm upgrade`: these values are fixed on purpose, and this
test fails when one moves. Change them only with a migration.
"""

from __future__ import annotations

import asyncio

import pytest
from traitlets.config import Config

from pyconfig.hub import ssh_keys, storage
from pyconfig.hub.configure import configure
from tools import chart
from tools.hub_pod import build_spawner, config_for

from .conftest import ROOT

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


def test_kubespawner_turns_user_names_into_the_same_object_names():
    """KubeSpawner's slugs are part of the names: an upgrade that changed them
    would point every user at a new, empty volume."""
    c = Config()
    configure(c)

    async def names():
        found = {}
        for user in ("alice", "Alice.Novak@cesnet.cz"):
            spawner = build_spawner(c, user, "repo-x1")
            secret = spawner._expand_user_properties("{username}-ssh-key")
            found[user] = (spawner.pvc_name, secret)
        return found

    assert asyncio.run(names()) == {
        "alice": ("alice-nfs-pvc", "alice-ssh-key"),
        "Alice.Novak@cesnet.cz": (
            "alice-novak-cesnet-cz---b571f676-nfs-pvc",
            "alice-novak-cesnet-cz---b571f676-ssh-key",
        ),
    }


@pytest.mark.parametrize("path", VALUES, ids=[p.name for p in VALUES])
def test_no_values_file_moves_them(path, tmp_path):
    c, _ = config_for(chart.load_values(path), tmp_path)
    assert c.KubeSpawner.pvc_name_template == "{username}-nfs-pvc"
    assert c.KubeSpawner.delete_pvc is False
    volume = c.KubeSpawner.volumes[ssh_keys.KEY_VOLUME]
    assert volume["secret"]["secretName"] == "{username}-ssh-key"
