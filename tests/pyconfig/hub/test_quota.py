"""Quota, group caps and per-user totals in the hook, on real hub objects.

A server counts as running when the hub's database says so (an orm.Server
row), exactly what JupyterHub records for a started server.
"""

from __future__ import annotations

import pytest
from jupyterhub import orm

from offline.hub_setup import SHA, github
from pyconfig.hub.launch_record import RECORD_KEY
from pyconfig.hub.quota import active_servers
from pyconfig.hub.refusal import LaunchRefused


@pytest.fixture
def world(raw, kube, config):
    """conftest's raw files, API and cerit.yaml configuration, with the
    repositories these tests launch."""
    raw.files[f"/owner/gpu/{SHA}/.resources"] = b"gpu=1\ncpul=4\n"
    raw.files[f"/owner/big/{SHA}/.resources"] = b"cpul=12\nmeml=20\n"
    return raw, kube, config


async def start(spawner, repo: str) -> None:
    """The hub's steps that matter here: the pre-spawn hook, then a server row."""
    spawner.user_options = github("owner", repo)
    await spawner.run_pre_spawn_hook()
    spawner.orm_spawner.server = orm.Server()
    spawner.user.db.commit()


def join(spawner, group: str) -> None:
    db = spawner.user.db
    orm_group = orm.Group(name=group)
    db.add(orm_group)
    spawner.user.orm_user.groups.append(orm_group)
    db.commit()


async def test_running_servers_count_stopped_ones_do_not(make_spawner, world):
    _, _, config = world
    config.ServerQuota.limit = 2

    first = make_spawner(config, server="a")
    user = first.user
    await start(first, "plain")
    await start(user.spawners["b"], "plain")
    assert sorted(active_servers(user)) == ["a", "b"]
    with pytest.raises(LaunchRefused, match=r"the most allowed \(2\): a, b"):
        await start(user.spawners["c"], "plain")
    user.spawners["a"].orm_spawner.server = None  # stopped: no longer counts
    user.db.commit()
    await start(user.spawners["d"], "plain")


async def test_launch_records_its_resources_in_user_options(make_spawner, world):
    _, _, config = world

    spawner = make_spawner(config)
    await start(spawner, "gpu")
    recorded = spawner.orm_spawner.user_options[RECORD_KEY]
    assert recorded["gpu"] == 1 and recorded["cpu_limit"] == 4
    assert recorded["origin"] == "file"
    assert spawner.user_options["binder_persistent_request"].startswith("v2/gh/")


async def test_per_user_gpu_total_across_running_servers(make_spawner, world):
    _, _, config = world
    config.ResourcePolicy.max_total_gpu = 1

    first = make_spawner(config, server="one")
    await start(first, "gpu")
    with pytest.raises(LaunchRefused) as caught:
        await start(first.user.spawners["two"], "gpu")
    refused = caught.value
    message = refused.log_message % refused.args
    assert "your running servers already use 1 GPU and this one asks for 1" in message
    assert "ResourcePolicy.max_total_gpu" in message


async def test_per_user_cpu_total(make_spawner, world):
    _, _, config = world
    config.ResourcePolicy.max_total_cpu = 16

    first = make_spawner(config, server="one")
    await start(first, "big")  # 12 cores
    await start(first.user.spawners["two"], "gpu")  # 4 more: 16, allowed
    with pytest.raises(LaunchRefused, match="already use 16 CPU cores"):
        await start(first.user.spawners["three"], "plain")  # default 8


async def test_group_caps_come_from_the_users_hub_groups(make_spawner, world):
    _, _, config = world
    config.ResourcePolicy.max_gpu = 0
    config.ResourcePolicy.group_caps = {"gpu": {"max_gpu": 1}}

    outsider = make_spawner(config, username="eve", server="x")
    with pytest.raises(LaunchRefused, match="members of gpu may ask for more"):
        await start(outsider, "gpu")
    member = make_spawner(config, username="alice", server="x")
    join(member, "gpu")
    await start(member, "gpu")
    assert member.extra_resource_limits["nvidia.com/gpu"] == 1


async def test_starting_servers_count_once_the_hook_has_let_them_through(
    make_spawner, world
):
    """A server the hub is starting counts for the quota through the hook's
    reservation: before its own check it does not (it will count the others
    then), after it does until it runs."""
    from pyconfig.hub.quota import ServerQuota, settled_servers

    _, _, config = world
    quota = ServerQuota(limit=1)

    first = make_spawner(config, server="a")
    user = first.user
    first.orm_spawner.server = orm.Server()  # the hub makes it at spawn
    first._spawn_pending = True
    assert settled_servers(user) == []
    quota.check(user.spawners["b"])  # "a" has not been checked yet
    with pytest.raises(LaunchRefused, match=r"the most allowed \(1\): a"):
        quota.check(user.spawners["b"], reserved=["a"])
    first._spawn_pending = False  # started: it runs
    assert settled_servers(user) == ["a"]
    with pytest.raises(LaunchRefused, match=r"the most allowed \(1\): a"):
        quota.check(user.spawners["b"])
