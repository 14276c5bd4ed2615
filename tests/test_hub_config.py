"""configure(c): merged into what z2jh and the admin set, safe for user data."""

from __future__ import annotations

import asyncio

import pytest
from traitlets.config import Config

from pyconfig.hub_config import configure
from pyconfig.spawn_hook import SOURCE_VARIABLE, pre_spawn_hook

from .standins import KubeAPIStandIn


def test_existing_volumes_mounts_and_environment_are_kept():
    c = Config()
    c.KubeSpawner.volumes = [{"name": "shared", "emptyDir": {}}]
    c.KubeSpawner.volume_mounts = [{"name": "shared", "mountPath": "/shared"}]
    c.KubeSpawner.environment = {"ADMIN": "1"}
    configure(c)
    volumes = c.KubeSpawner.volumes
    assert volumes["00-000"] == {"name": "shared", "emptyDir": {}}
    assert "persistent-binderhub-home" in volumes
    assert c.KubeSpawner.volume_mounts["00-000"]["mountPath"] == "/shared"
    assert c.KubeSpawner.environment["ADMIN"] == "1"
    assert c.KubeSpawner.environment["PERSISTENT_HOME"] == "/home/{username}-nfs-pvc"


def test_admin_hook_runs_before_ours(make_spawner):
    order = []

    def admin_hook(spawner):
        order.append(("admin", spawner.environment.get(SOURCE_VARIABLE)))

    with KubeAPIStandIn() as kube:
        c = Config()
        c.KubeSpawner.k8s_api_host = kube.url
        c.KubeSpawner.pre_spawn_hook = admin_hook
        configure(c)
        configure(c)  # configuring twice must not run our hook twice

        async def run():
            spawner = make_spawner(c)
            await spawner.run_pre_spawn_hook()
            return spawner

        spawner = asyncio.run(run())
    assert order == [("admin", None)]
    assert spawner.environment[SOURCE_VARIABLE].startswith("defaults: ")
    assert [m for m, _ in kube.calls()] == ["GET", "POST"]


def test_configure_twice_is_harmless():
    c = Config()
    configure(c)
    configure(c)
    assert c.KubeSpawner.pre_spawn_hook is pre_spawn_hook


def test_a_per_server_claim_name_is_refused():
    c = Config()
    c.UserStorage.pvc_name_template = "claim-{username}-{servername}"
    with pytest.raises(ValueError, match=r"must not contain \{servername\}"):
        configure(c)


def test_fs_gid_is_kept_when_set():
    c = Config()
    c.KubeSpawner.fs_gid = 2000
    configure(c)
    assert c.KubeSpawner.fs_gid == 2000


@pytest.mark.parametrize("server", ["project", ""], ids=["named", "default"])
def test_deleting_a_server_or_the_user_never_deletes_the_volume(make_spawner, server):
    """What culling and the Delete button do: JupyterHub calls delete_forever().

    The spawner is built from configuration alone, as the hub builds it after
    a restart, so no pre-spawn hook has run.
    """
    with KubeAPIStandIn() as kube:
        c = Config()
        c.KubeSpawner.k8s_api_host = kube.url
        configure(c)

        async def run():
            spawner = make_spawner(c, server=server)
            assert spawner.pvc_name == "alice-nfs-pvc"
            await spawner.delete_forever()

        asyncio.run(run())
        assert kube.requests == []


@pytest.mark.parametrize(
    ("section", "trait", "value", "fragment"),
    [
        ("ResourcePolicy", "max_cpu", 4, "default_cpu_limit (8.0) is above"),
        ("RepositoryResources", "on_fetch_error", "ignore", "on_fetch_error"),
        ("ServerQuota", "limit", "five", "limit"),
    ],
)
def test_bad_settings_stop_the_hub_at_start_with_the_setting_named(
    section, trait, value, fragment
):
    c = Config()
    c[section][trait] = value
    with pytest.raises(
        ValueError, match="Persistent BinderHub configuration"
    ) as caught:
        configure(c)
    assert fragment in str(caught.value)
