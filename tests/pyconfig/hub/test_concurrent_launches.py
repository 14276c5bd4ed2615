"""Parallel launches of one user, through the hook on real hub objects.

A user's launches overlap in the hub (BinderHub's page, several tabs, a
script): each hook awaits the file and the key Secret while the others run.
The quota and the per-user totals must still hold, as if one at a time.
"""

from __future__ import annotations

import asyncio

import pytest
from jupyterhub import orm
from prometheus_client import REGISTRY

from fakes.kube_api import Fault
from offline.hub_setup import SHA, github
from pyconfig.hub.launch_record import RECORD_KEY
from pyconfig.hub.refusal import LaunchRefused
from pyconfig.hub.spawn_hook import hook_for


@pytest.fixture
def world(raw, kube, config):
    """conftest's raw files, API and cerit.yaml configuration, with the
    repositories these tests launch."""
    raw.files[f"/owner/gpu/{SHA}/.resources"] = b"gpu=1\ncpul=4\n"
    raw.files[f"/owner/broken/{SHA}/.resources"] = b"cpu=2\n"
    return raw, kube, config


async def hook(spawner, repo: str) -> None:
    """The hub's pre-spawn step with BinderHub's user_options."""
    spawner.user_options = github("owner", repo)
    await spawner.run_pre_spawn_hook()


async def in_parallel(first, names: list[str], repo: str) -> list:
    """Hook runs of the user's servers ``names`` at once; each result is
    None (started) or the LaunchRefused."""
    spawners = [first.user.spawners[name] for name in names]
    results = await asyncio.gather(
        *(hook(s, repo) for s in spawners), return_exceptions=True
    )
    for result in results:
        if result is not None and not isinstance(result, LaunchRefused):
            raise result
    return results


def message(refused: LaunchRefused) -> str:
    return refused.log_message % refused.args


def run_server(spawner) -> None:
    """What the hub records once a started server runs."""
    spawner.orm_spawner.server = orm.Server()
    spawner.user.db.commit()


async def test_parallel_gpu_launches_get_one_gpu_under_max_total_gpu(
    make_spawner, world
):
    _, _, config = world
    config.ResourcePolicy.max_total_gpu = 1

    first = make_spawner(config, server="g0")
    results = await in_parallel(first, ["g0", "g1", "g2", "g3"], "gpu")
    started = [r for r in results if r is None]
    refused = [r for r in results if r is not None]
    assert len(started) == 1, results
    for each in refused:
        assert "ResourcePolicy.max_total_gpu" in message(each)
        assert "already use 1 GPU and" in message(each)
    assert hook_for(config).reserved == {}


async def test_parallel_launches_fill_the_quota_once(make_spawner, world):
    _, _, config = world
    config.ServerQuota.limit = 2

    first = make_spawner(config, server="q0")
    results = await in_parallel(first, ["q0", "q1", "q2", "q3"], "plain")
    assert results[:2] == [None, None]
    for each in results[2:]:
        assert "the most allowed (2): q0, q1" in message(each)
    assert hook_for(config).reserved == {}


async def test_a_refused_launch_frees_its_reservation(make_spawner, world):
    """A broken file and a failed key Secret both release what they held."""
    _, kube, config = world
    config.ServerQuota.limit = 1
    config.ResourcePolicy.max_total_gpu = 1

    first = make_spawner(config, server="b0")
    with pytest.raises(LaunchRefused, match="unknown key 'cpu'"):
        await hook(first, "broken")
    kube.faults = [Fault("get", "secrets", 500)]
    with pytest.raises(LaunchRefused, match="SSH key could not be prepared"):
        await hook(first.user.spawners["b1"], "gpu")
    assert hook_for(config).reserved == {}
    await hook(first.user.spawners["b2"], "gpu")  # slot and GPU are free


async def test_a_started_launch_hands_over_to_its_record(make_spawner, world):
    """Once the hook is done the server is active and its record counts."""
    _, _, config = world
    config.ResourcePolicy.max_total_gpu = 1

    first = make_spawner(config, server="r0")
    await hook(first, "gpu")
    assert hook_for(config).reserved == {}
    assert first.orm_spawner.user_options[RECORD_KEY]["gpu"] == 1
    run_server(first)
    results = await in_parallel(first, ["r1", "r2"], "gpu")
    assert all(isinstance(r, LaunchRefused) for r in results)
    first.orm_spawner.server = None  # stopped: its GPU is free again
    first.user.db.commit()
    again = await in_parallel(first, ["r3", "r4"], "gpu")
    assert sum(r is None for r in again) == 1, again


async def test_other_users_do_not_share_reservations(make_spawner, world):
    _, _, config = world
    config.ResourcePolicy.max_total_gpu = 1

    alice = make_spawner(config, username="alice", server="a")
    bob = make_spawner(config, username="bob", server="b")
    assert await asyncio.gather(hook(alice, "gpu"), hook(bob, "gpu")) == [None, None]


async def test_the_hook_times_each_launch_in_its_histogram(make_spawner, world):
    """Durations go to a Prometheus histogram (fixed memory, like BinderHub's
    launch time), by status; `make bench` reads it from there."""
    _, _, config = world

    def count(status: str) -> float:
        name = "persistent_binderhub_spawn_hook_seconds_count"
        return REGISTRY.get_sample_value(name, {"status": status}) or 0.0

    before = {status: count(status) for status in ("success", "refused")}
    first = make_spawner(config, server="t0")
    await hook(first, "plain")
    await hook(first.user.spawners["t1"], "plain")
    with pytest.raises(LaunchRefused):
        await hook(first.user.spawners["t2"], "broken")
    assert count("success") - before["success"] == 2
    assert count("refused") - before["refused"] == 1
