"""The per-user SSH keypair: made once, reused, raced safely, never leaked.

Kubernetes is the loopback API (fakes/kube_api.py; no API server can run
here) with the rendered release's RBAC for the hub's token; keys are checked
with the real OpenSSH tools.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from jupyterhub import orm

from fakes.kube_api import Fault
from fakes.standins import RawFileServer
from offline.hub_setup import cerit_config, github
from pyconfig.hub.refusal import LaunchRefused
from pyconfig.hub.ssh_keys import new_keypair

SECRET = ("binderhub", "alice-ssh-key")  # the hub pod's namespace (z2jh)


async def start(make_spawner, config, server="one", username="alice"):
    spawner = make_spawner(config, username=username, server=server)
    spawner.user_options = github("owner", "repo")
    await spawner.run_pre_spawn_hook()
    return spawner


def stored_private_key(kube) -> bytes:
    return base64.b64decode(kube.get("secrets", *SECRET)["data"]["ssh.priv"])


async def test_first_launch_creates_the_key_and_later_launches_reuse_it(
    make_spawner, config, kube
):
    await start(make_spawner, config, "one")
    first = kube.get("secrets", *SECRET)["data"]
    assert [m for m, _ in kube.calls(path="/secrets")] == ["GET", "POST"]
    kube.requests.clear()
    await start(make_spawner, config, "two")
    assert kube.calls(path="/secrets") == [
        ("GET", "/api/v1/namespaces/binderhub/secrets/alice-ssh-key")
    ]
    assert kube.get("secrets", *SECRET)["data"] == first


async def test_only_the_verbs_of_the_hubs_role_are_used(make_spawner, config, kube):
    """The loopback API grants the hub's token only what the rendered hub Role
    grants (a 403 would refuse the launch): the launch succeeds, made calls."""
    await start(make_spawner, config)
    assert kube.get("secrets", *SECRET) is not None
    assert {method for method, _ in kube.calls()} >= {"GET", "POST"}


async def test_concurrent_first_launches_end_with_one_key(make_spawner, config, kube):
    kube.create_delay = 0.2  # both reads happen before either create lands

    spawner = make_spawner(config, server="a")
    other = spawner.user.spawners["b"]
    for s in (spawner, other):
        s.user_options = github("owner", "repo")
    await asyncio.gather(spawner.run_pre_spawn_hook(), other.run_pre_spawn_hook())
    assert [m for m, _ in kube.calls()].count("POST") == 2
    assert len(kube.list_all("secrets")) == 1


async def test_secret_api_failure_refuses_the_launch_without_losing_anything(
    make_spawner, config, kube
):
    kube.faults = [Fault("get", "secrets", 500)]

    with pytest.raises(LaunchRefused) as caught:
        await start(make_spawner, config)
    refused = caught.value
    message = refused.log_message % refused.args
    assert "your SSH key could not be prepared" in message
    assert "Kubernetes API 500" in message
    assert kube.calls("DELETE") == []
    assert kube.list_all("secrets") == []


async def test_failed_create_names_the_status_not_the_key(make_spawner, config, kube):
    kube.faults = [Fault("create", "secrets", 500)]  # read: not found

    with pytest.raises(LaunchRefused, match="could not create Secret") as caught:
        await start(make_spawner, config)
    refused = caught.value
    assert "PRIVATE KEY" not in str(refused.log_message % refused.args)


async def test_private_key_never_reaches_logs_state_options_or_database(
    make_spawner, config, kube, caplog
):
    with caplog.at_level(logging.DEBUG):
        spawner = await start(make_spawner, config)
    private = stored_private_key(kube)
    body = private.decode().split("\n")[1]  # first line of the key material
    assert body not in caplog.text
    assert "PRIVATE KEY" not in caplog.text
    assert body not in repr(spawner.get_state())
    assert body not in repr(spawner.user_options)
    assert body not in repr(spawner.environment)
    db = spawner.user.db
    spawner.orm_spawner.state = spawner.get_state()
    db.commit()
    for row in db.query(orm.Spawner):
        assert body not in repr(row.state) and body not in repr(row.user_options)


def test_generated_key_is_a_valid_openssh_keypair(tmp_path):
    keygen = shutil.which("ssh-keygen")
    assert keygen, "openssh-client is a test dependency (.ci/run installs it)"
    private, public = new_keypair("alice@example")
    path = tmp_path / "ssh.priv"
    path.write_bytes(private)
    path.chmod(0o600)
    derived = subprocess.run(
        [keygen, "-y", "-f", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert derived[:2] == public.decode().split()[:2]
    assert public.decode().split()[2] == "alice@example"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change file owners")
def test_ssh_accepts_the_key_as_kubernetes_mounts_it_for_uid_1000():
    """A Secret file with fsGroup 100 is root:100 0440; uid 1000 (group 100) reads it.

    The same mode on a file uid 1000 owns is refused by ssh ("bad
    permissions"), which shows the check is real.
    """
    setpriv = shutil.which("setpriv")
    assert setpriv, "util-linux setpriv is needed"
    private, public = new_keypair("alice@example")
    # pytest's tmp_path is private to root; uid 1000 must reach the file.
    folder = Path(tempfile.mkdtemp(prefix="ssh-mount-"))
    folder.chmod(0o755)
    path = folder / "ssh.priv"
    path.write_bytes(private)
    as_user = [setpriv, "--reuid=1000", "--regid=100", "--groups=100"]
    command = [*as_user, "ssh-keygen", "-y", "-f", str(path)]

    os.chown(path, 0, 100)
    path.chmod(0o440)
    accepted = subprocess.run(command, capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.split()[:2] == public.decode().split()[:2]

    os.chown(path, 1000, 100)
    refused = subprocess.run(command, capture_output=True, text=True)
    shutil.rmtree(folder)
    assert refused.returncode != 0
    assert "UNPROTECTED PRIVATE KEY FILE" in refused.stderr


async def test_a_hung_api_refuses_the_launch_in_time_and_the_next_one_works(
    make_spawner,
):
    """The API server hangs on the Secret read: the hook gives up after
    SSHKeys.request_timeout with a message to retry, instead of holding the
    launch for ever (JupyterHub's start timeout does not cover the hook)."""
    from fakes.kube_api import Fault, KubeAPI

    with RawFileServer() as raw, KubeAPI() as api:
        config = cerit_config(raw.url, api.url)
        config.SSHKeys.request_timeout = 0.5
        # It answers after 30 s: a launch that waited for it would succeed.
        api.faults.append(Fault("get", "secrets", status=0, hang=30))

        with pytest.raises(LaunchRefused) as caught:
            await start(make_spawner, config, "one")
        await start(make_spawner, config, "two")  # the API answers again
        refused = caught.value
        message = refused.log_message % refused.args
        assert "did not answer in 0.5 s" in message
        assert "try again" in message
        assert api.get("secrets", *SECRET) is not None
