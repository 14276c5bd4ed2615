"""configure(c): merged into what z2jh and the admin set, safe for user data."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient
from traitlets.config import Config

from fakes.cluster import NAMESPACE
from offline.hub_setup import cerit_api, cerit_config
from pyconfig.hub.configure import configure
from pyconfig.hub.culler import culler_timing
from pyconfig.hub.spawn_hook import SOURCE_VARIABLE, pre_spawn_hook

# The client's serializer needs no connection: skip __init__, which opens one.
_SERIALIZER = ApiClient.__new__(ApiClient)

HOME = {
    "name": "persistent-binderhub-home",
    "persistentVolumeClaim": {"claimName": "alice-nfs-pvc"},
}


async def pod_manifest(make_spawner: Any, c: Config) -> dict:
    """The pod KubeSpawner itself builds from ``c`` for alice's server
    "project" (conftest's make_spawner), in API field names."""
    manifest = await make_spawner(c).get_pod_manifest()
    return _SERIALIZER.sanitize_for_serialization(manifest)


def volume_names(pod: dict) -> list[str]:
    return [volume["name"] for volume in pod["spec"]["volumes"]]


def mount_paths(pod: dict) -> list[str]:
    return [m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]]


def environment(pod: dict) -> dict[str, Any]:
    env = pod["spec"]["containers"][0]["env"]
    assert len({item["name"] for item in env}) == len(env), env
    return {item.pop("name"): item for item in env}


async def test_z2jh_extend_on_a_fresh_config_is_merged(make_spawner):
    """z2jh's jupyterhub_config.py exactly: with storage type none nothing set
    the lists before, so .extend leaves a LazyConfigValue (it used to crash
    configure(c) with "'LazyConfigValue' object is not a mapping")."""
    c = Config()
    c.KubeSpawner.volumes.extend([])
    c.KubeSpawner.volume_mounts.extend([])
    configure(c)
    pod = await pod_manifest(make_spawner, c)
    assert HOME in pod["spec"]["volumes"]
    assert "/home/alice-nfs-pvc" in mount_paths(pod)


async def test_z2jh_extra_volumes_keep_their_order_and_come_once(make_spawner):
    c = Config()
    c.KubeSpawner.volumes = [{"name": "z-home", "emptyDir": {}}]
    c.KubeSpawner.volumes.extend([{"name": "b", "emptyDir": {}}])
    c.KubeSpawner.volume_mounts.extend([{"name": "b", "mountPath": "/b"}])
    configure(c)
    configure(c)
    names = volume_names(await pod_manifest(make_spawner, c))
    assert names.count("z-home") == names.count("b") == 1
    assert names.index("z-home") < names.index("b")
    assert names.count("persistent-binderhub-home") == 1


def test_existing_volumes_mounts_and_environment_are_kept():
    c = Config()
    c.KubeSpawner.volumes = [{"name": "shared", "emptyDir": {}}]
    c.KubeSpawner.volume_mounts = {"shared": {"name": "shared", "mountPath": "/s"}}
    c.KubeSpawner.environment = {"ADMIN": "1"}
    configure(c)
    assert c.KubeSpawner.volumes.listed() == [{"name": "shared", "emptyDir": {}}]
    assert "persistent-binderhub-home" in c.KubeSpawner.volumes
    assert c.KubeSpawner.volume_mounts["shared"]["mountPath"] == "/s"
    assert c.KubeSpawner.environment["ADMIN"] == "1"
    assert c.KubeSpawner.environment["PERSISTENT_HOME"] == "/home/{username}-nfs-pvc"


async def test_a_lazy_update_on_volumes_is_not_dropped(make_spawner):
    """traitlets alone would drop it: a LazyConfigValue's .update only applies
    to a dict, and the volumes trait's default is a list."""
    c = Config()
    c.KubeSpawner.volumes.update({"scratch": {"name": "scratch", "emptyDir": {}}})
    c.KubeSpawner.volumes.append({"name": "tmp", "emptyDir": {}})
    configure(c)
    assert {"scratch", "tmp", HOME["name"]} <= set(
        volume_names(await pod_manifest(make_spawner, c))
    )


async def test_snippets_after_configure_can_still_extend_append_and_update(
    make_spawner,
):
    """An admin's hub.extraConfig snippet sorted after ours, z2jh-style."""
    c = Config()
    configure(c)
    c.KubeSpawner.volumes.extend([{"name": "late", "emptyDir": {}}])
    c.KubeSpawner.volumes.append({"name": "later", "emptyDir": {}})
    c.KubeSpawner.volumes += [{"name": "latest", "emptyDir": {}}]
    c.KubeSpawner.volume_mounts.insert(0, {"name": "late", "mountPath": "/late"})
    c.KubeSpawner.environment.update({"LATE": "{username}"})
    pod = await pod_manifest(make_spawner, c)
    assert volume_names(pod).count("late") == 1
    assert {"late", "later", "latest", HOME["name"]} <= set(volume_names(pod))
    assert "/late" in mount_paths(pod)
    env = environment(pod)
    assert env["LATE"] == {"value": "alice"}
    assert env["PERSISTENT_HOME"] == {"value": "/home/alice-nfs-pvc"}


async def test_environment_values_of_every_kind_reach_the_pod(make_spawner):
    c = Config()
    c.KubeSpawner.environment.update(
        {
            "PLAIN": "{username}-x",
            "FROM": {"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            "CALLED": lambda spawner: f"hi-{spawner.user.name}",
        }
    )
    c.KubeSpawner.environment.append({"name": "LISTED", "value": "1"})
    configure(c)
    env = environment(await pod_manifest(make_spawner, c))
    assert env["PLAIN"] == {"value": "alice-x"}
    assert env["FROM"] == {"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    assert env["CALLED"] == {"value": "hi-alice"}
    assert env["LISTED"] == {"value": "1"}
    assert env["PERSISTENT_HOME"] == {"value": "/home/alice-nfs-pvc"}


def test_a_list_item_in_environment_that_is_no_env_var_is_refused_by_name():
    c = Config()
    c.KubeSpawner.environment.append("A=1")
    with pytest.raises(ValueError, match=r"environment\.update\(\{\.\.\.\}\)"):
        configure(c)


def test_reading_an_unset_hook_or_list_before_configure_is_harmless():
    """``if not c.KubeSpawner.pre_spawn_hook:`` leaves a LazyConfigValue."""
    c = Config()
    assert c.KubeSpawner.pre_spawn_hook is not None  # a LazyConfigValue now
    assert c.JupyterHub.template_vars is not None
    c.JupyterHub.services.append({"name": "x", "command": ["x", "--timeout=60"]})
    configure(c)
    assert c.KubeSpawner.pre_spawn_hook is pre_spawn_hook
    assert "persistent_binderhub" in c.JupyterHub.template_vars


def test_the_home_page_reads_the_culler_the_chart_configures():
    """The page's countdown must match the real culler: the --timeout and
    --cull-every of the service z2jh builds from cull.* (the chart: a week,
    checked hourly), not any service's flags."""
    chart_services = cerit_config("http://127.0.0.1:9").JupyterHub.services
    assert culler_timing(chart_services) == (604800, 3600)
    c = Config()
    c.JupyterHub.services = [
        {"name": "x", "command": ["x", "--timeout=60", "--cull-every=5"]},
        {
            "name": "c",
            "command": [
                "python3",
                "-m",
                "jupyterhub_idle_culler",
                "--url=http://h/hub_api",
                "--timeout=120",
            ],
        },
    ]
    # Without --cull-every the culler checks every timeout // 2.
    assert culler_timing(c.JupyterHub.services) == (120, 60)
    assert culler_timing([]) == (0, 0)
    # As the culler reads it: --cull_every is --cull-every.
    c.JupyterHub.services[1]["command"].append("--cull_every=7")
    assert culler_timing(c.JupyterHub.services) == (120, 7)


def _sync_hook(order: list) -> Any:
    def hook(spawner):
        order.append(("admin", spawner.environment.get(SOURCE_VARIABLE)))

    return hook


def _async_hook(order: list) -> Any:
    async def hook(spawner):
        await asyncio.sleep(0)
        order.append(("admin", spawner.environment.get(SOURCE_VARIABLE)))

    return hook


@pytest.mark.parametrize("make_hook", [_sync_hook, _async_hook], ids=["sync", "async"])
async def test_admin_hook_runs_before_ours(make_spawner, make_hook):
    order = []

    with cerit_api() as kube:
        c = Config()
        c.KubeSpawner.k8s_api_host = kube.url
        c.KubeSpawner.namespace = NAMESPACE  # z2jh sets it from POD_NAMESPACE
        c.KubeSpawner.pre_spawn_hook = make_hook(order)
        configure(c)
        configure(c)  # configuring twice must not run our hook twice

        spawner = make_spawner(c)
        await spawner.run_pre_spawn_hook()
    assert order == [("admin", None)]
    assert spawner.environment[SOURCE_VARIABLE].startswith("defaults: ")
    # The claim's owner is checked (none yet), the key Secret read and made.
    assert [m for m, _ in kube.calls()] == ["GET", "GET", "POST"]


@pytest.mark.parametrize("make_hook", [_sync_hook, _async_hook], ids=["sync", "async"])
async def test_admin_post_stop_hook_runs_once_and_ours_too(make_spawner, make_hook):
    """Ours removes a named server that never started (quota.remove_if_new)."""
    order = []
    with cerit_api() as kube:
        c = Config()
        c.KubeSpawner.k8s_api_host = kube.url
        c.KubeSpawner.namespace = NAMESPACE  # z2jh sets it from POD_NAMESPACE
        c.KubeSpawner.post_stop_hook = make_hook(order)
        c.ServerQuota.remove_refused_after = 0  # no grace before the removal
        configure(c)
        configure(c)

        spawner = make_spawner(c)
        result = spawner.run_post_stop_hook()
        if result is not None:
            await result
        for _ in range(50):
            if "project" not in spawner.user.orm_user.orm_spawners:
                break
            await asyncio.sleep(0.02)
        servers = set(spawner.user.orm_user.orm_spawners)
    assert order == [("admin", None)]
    assert "project" not in servers


def test_configure_twice_is_harmless():
    c = Config()
    configure(c)
    configure(c)
    assert c.KubeSpawner.pre_spawn_hook is pre_spawn_hook


def test_a_per_server_claim_name_is_refused():
    c = Config()
    c.UserStorage.pvc_name_template = "claim-{username}-{servername}"
    with pytest.raises(ValueError, match=r"may use only the field \{username\}"):
        configure(c)


def test_fs_gid_is_kept_when_set():
    c = Config()
    c.KubeSpawner.fs_gid = 2000
    configure(c)
    assert c.KubeSpawner.fs_gid == 2000


@pytest.mark.parametrize("server", ["project", ""], ids=["named", "default"])
async def test_deleting_a_server_or_the_user_never_deletes_the_volume(
    make_spawner, server
):
    """What culling and the Delete button do: JupyterHub calls delete_forever().

    The spawner is built from configuration alone, as the hub builds it after
    a restart, so no pre-spawn hook has run.
    """
    with cerit_api() as kube:
        c = Config()
        c.KubeSpawner.k8s_api_host = kube.url
        c.KubeSpawner.namespace = NAMESPACE  # z2jh sets it from POD_NAMESPACE
        configure(c)

        spawner = make_spawner(c, server=server)
        assert spawner.pvc_name == "alice-nfs-pvc"
        await spawner.delete_forever()
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
