"""A launch the namespace's ResourceQuota would refuse is refused by the
hook first, saying what ran out and what to do (pyconfig/hub/namespace_quota.py).

The real KubeSpawner of values/cerit.yaml's hub (NamespaceQuota on) runs the
hub's pre-spawn step against the loopback cluster (fakes/kube_api.py), whose
quota accounting is the API server's (fakes/admission.py).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from fakes.kube_api import Fault, KubeAPI
from offline.chart import NAMESPACE
from offline.hub_setup import SHA, cerit_config, github
from pyconfig.hub import namespace_quota
from pyconfig.hub.refusal import LaunchRefused

GPU_FILE = b"gpu=1\ncpur=1\ncpul=4\nmemr=2\nmeml=8\n"
PLAIN_FILE = b"cpul=4\nmeml=8\n"


@pytest.fixture
def cluster():
    with KubeAPI() as api:
        yield api


def quota(api: KubeAPI, **hard: str) -> None:
    api.create(
        "resourcequotas",
        NAMESPACE,
        {"metadata": {"name": "persistent-binderhub"}, "spec": {"hard": hard}},
    )


def holding(api: KubeAPI, name: str, **limits: str) -> None:
    """A running pod that holds ``limits`` (through admission, counted)."""
    body = {
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "c", "image": "i", "resources": {"limits": limits}}]
        },
    }
    api.create("pods", NAMESPACE, body, as_client=True)


async def launch(make_spawner, raw, cluster, file: bytes, enabled: bool = True):
    raw.files[f"/owner/repo/{SHA}/.resources"] = file
    config = cerit_config(raw.url, cluster.url)
    config.NamespaceQuota.enabled = enabled

    spawner = make_spawner(config, username="Dana.O'Neil", server="proj")
    spawner.user_options = github("owner", "repo")
    await spawner.run_pre_spawn_hook()
    return spawner


async def refusal(make_spawner, raw, cluster, file: bytes) -> str:
    with pytest.raises(LaunchRefused) as refused:
        await launch(make_spawner, raw, cluster, file)
    assert refused.value.why == "cluster_full"
    return refused.value.jupyterhub_message


async def test_every_gpu_in_use_refuses_a_gpu_launch_and_says_what_to_do(
    make_spawner, raw, cluster
):
    quota(cluster, **{"requests.nvidia.com/gpu": "1", "limits.cpu": "64"})
    holding(cluster, "jupyter-other", **{"cpu": "2", "nvidia.com/gpu": "1"})
    assert await refusal(make_spawner, raw, cluster, GPU_FILE) == (
        "Launch refused: the service is full: 1 of its 1 GPUs are in use and "
        "this launch asks for 1. You can launch without a GPU (no gpu= in "
        ".resources), or try again later. Nothing of yours was lost, and this "
        "launch does not count toward your servers."
    )
    # The same repository without a GPU still fits.
    spawner = await launch(make_spawner, raw, cluster, PLAIN_FILE)
    assert spawner.cpu_limit == 4


async def test_spent_cpu_and_memory_are_named_with_their_fields(
    make_spawner, raw, cluster
):
    quota(cluster, **{"limits.cpu": "6", "limits.memory": "20Gi", "pods": "10"})
    holding(cluster, "jupyter-other", cpu="4", memory="16Gi")
    message = await refusal(make_spawner, raw, cluster, PLAIN_FILE)
    assert "running notebooks hold 4 of its 6 CPU cores" in message
    assert "this launch asks for 4" in message
    assert "hold 16 GB of its 20 GB of memory and this launch asks for 8 GB" in message
    assert "ask for fewer cores (cpul= and cpur= in .resources)" in message
    assert "ask for less memory (meml= and memr= in .resources)" in message


async def test_a_quota_with_room_or_switched_off_lets_the_launch_through(
    make_spawner, raw, cluster
):
    quota(cluster, **{"requests.nvidia.com/gpu": "1"})
    launched = await launch(make_spawner, raw, cluster, GPU_FILE)
    assert launched.extra_resource_limits == {"nvidia.com/gpu": 1}
    holding(cluster, "jupyter-other", **{"cpu": "1", "nvidia.com/gpu": "1"})
    before = len(cluster.calls())
    await launch(make_spawner, raw, cluster, GPU_FILE, enabled=False)  # off: not read
    assert not any("resourcequotas" in p for _, p in cluster.calls()[before:])


async def test_an_unreadable_quota_leaves_the_judgement_to_kubernetes(
    make_spawner, raw, cluster, capfd
):
    quota(cluster, **{"requests.nvidia.com/gpu": "0"})
    cluster.faults.append(Fault("list", "resourcequotas", status=403))
    spawner = await launch(make_spawner, raw, cluster, GPU_FILE)
    assert spawner.extra_resource_limits == {"nvidia.com/gpu": 1}
    assert "Namespace quota not read (403); launch goes on" in capfd.readouterr().err


# -- the quota's use, as the home page reads it ---------------------------------


async def test_each_launch_keeps_the_reading_the_home_page_shows(
    make_spawner, raw, cluster
):
    quota(
        cluster,
        **{
            "requests.nvidia.com/gpu": "8",
            "limits.cpu": "512",
            "limits.memory": "2Ti",
            "pods": "500",
        },
    )
    holding(
        cluster,
        "jupyter-other",
        **{"cpu": "2", "memory": "1536Mi", "nvidia.com/gpu": "1"},
    )
    await launch(make_spawner, raw, cluster, GPU_FILE)
    reading = namespace_quota.last_reading()
    assert namespace_quota.capacity(reading, "nvidia.com/gpu") == [
        "GPUs: 1 of 8 in use",
        "CPU: 2 of 512 cores held",
        "Memory: 1.5 GB of 2048 GB held",
        "Pods: 1 of 500 (notebooks, builds and the service's own)",
    ]
    holding(cluster, "jupyter-third", cpu="3", memory="1Gi")
    await launch(make_spawner, raw, cluster, PLAIN_FILE)  # read again at this launch
    later = namespace_quota.last_reading()
    assert later.at >= reading.at
    assert "CPU: 5 of 512 cores held" in namespace_quota.capacity(
        later, "nvidia.com/gpu"
    )


def test_of_several_quotas_the_one_with_the_least_room_is_shown():
    def one(name: str, hard: dict, used: dict) -> dict:
        return {
            "metadata": {"name": name},
            "spec": {"hard": hard},
            "status": {"used": used},
        }

    reading = namespace_quota.Reading(
        (
            one(
                "wide",
                {"limits.cpu": "100", "pods": "50"},
                {"limits.cpu": "10", "pods": "3"},
            ),
            one(
                "narrow",
                {"requests.cpu": "12", "requests.amd.com/gpu": "2"},
                {"requests.cpu": "8", "requests.amd.com/gpu": "2"},
            ),
            one("broken", {"limits.memory": "lots"}, {}),
        ),
        datetime(2026, 12, 7, 12, 0),
    )
    assert namespace_quota.capacity(reading, "amd.com/gpu") == [
        "GPUs: 2 of 2 in use",
        "CPU: 8 of 12 cores held",
        "Pods: 3 of 50 (notebooks, builds and the service's own)",
    ]
    assert namespace_quota.capacity(reading, "nvidia.com/gpu")[0].startswith("CPU")
