"""The profile mapper, applied to a real KubeSpawner built through a hub User.

The pod manifest is KubeSpawner's own (``get_pod_manifest``), so these tests
check what Kubernetes would be sent, not our idea of it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from traitlets import TraitError
from traitlets.config import Config

from pyconfig.resources.effective import evaluate
from pyconfig.resources.kubespawner_settings import (
    BYTES_PER_GB,
    MIN_CPU_CORES,
    MIN_MEM_BYTES,
    apply_settings,
    gb_to_bytes,
    kubespawner_settings,
    merged,
)
from pyconfig.resources.policy import ResourcePolicy
from pyconfig.resources.problems import ResourcesError

GPU = "nvidia.com/gpu"
ADMIN_TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "binder"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def admin_config() -> Config:
    """What an admin might already have set on KubeSpawner in hub.config."""
    config = Config()
    config.KubeSpawner.environment = {"EXISTING": "kept"}
    config.KubeSpawner.node_selector = {"zone": "brno"}
    config.KubeSpawner.tolerations = [ADMIN_TOLERATION]
    config.KubeSpawner.extra_resource_limits = {"example.com/fpga": "1"}
    config.ResourcePolicy.gpu_node_selector = {"nvidia.com/gpu.present": "true"}
    config.ResourcePolicy.gpu_tolerations = [GPU_TOLERATION]
    return config


async def pod_for(make_spawner, text: str, config: Config | None = None):
    config = config or admin_config()
    spawner = make_spawner(config)
    policy = ResourcePolicy(config=config)
    apply_settings(spawner, kubespawner_settings(evaluate(text, policy), policy))
    return spawner, await spawner.get_pod_manifest()


def container_env(pod) -> dict[str, str]:
    return {item.name: item.value for item in pod.spec.containers[0].env}


async def test_defaults_reach_the_pod(make_spawner):
    _, pod = await pod_for(make_spawner, "# nothing\n")
    resources = pod.spec.containers[0].resources
    assert resources.requests == {"cpu": 1.0, "memory": 1 * BYTES_PER_GB}
    assert resources.limits == {
        "cpu": 8.0,
        "memory": 16 * BYTES_PER_GB,
        "example.com/fpga": "1",
    }
    env = container_env(pod)
    assert env["NVIDIA_VISIBLE_DEVICES"] == "void"
    assert env["EXISTING"] == "kept"
    assert pod.spec.node_selector == {"zone": "brno"}
    assert [t.key for t in pod.spec.tolerations].count("nvidia.com/gpu") == 0


async def test_gpu_file_merges_into_admin_settings(make_spawner):
    text = "gpu=2\ncpur=2\ncpul=4\nmemr=0.5\nmeml=8\n"
    _, pod = await pod_for(make_spawner, text)
    container = pod.spec.containers[0]
    assert container.resources.requests == {
        "cpu": 2.0,
        "memory": BYTES_PER_GB // 2,
        GPU: 2,
    }
    assert container.resources.limits == {
        "cpu": 4.0,
        "memory": 8 * BYTES_PER_GB,
        GPU: 2,
        "example.com/fpga": "1",
    }
    env = container_env(pod)
    assert "NVIDIA_VISIBLE_DEVICES" not in env
    assert env["EXISTING"] == "kept"
    assert pod.spec.node_selector == {
        "zone": "brno",
        "nvidia.com/gpu.present": "true",
    }
    keys = [t.key for t in pod.spec.tolerations]
    assert "dedicated" in keys and "nvidia.com/gpu" in keys


async def test_mig_resource_name_is_used(make_spawner):
    config = admin_config()
    config.ResourcePolicy.gpu_resource_name = "nvidia.com/mig-1g.10gb"
    _, pod = await pod_for(make_spawner, "gpu=1", config)
    limits = pod.spec.containers[0].resources.limits
    assert limits["nvidia.com/mig-1g.10gb"] == 1
    assert GPU not in limits


async def test_no_gpu_removes_a_gpu_an_admin_set_globally(make_spawner):
    config = admin_config()
    config.KubeSpawner.extra_resource_limits = {GPU: "1"}
    _, pod = await pod_for(make_spawner, "gpu=0", config)
    assert GPU not in pod.spec.containers[0].resources.limits


async def test_applying_to_one_server_leaves_another_of_the_same_user(make_spawner):
    config = admin_config()
    first = make_spawner(config, server="first")
    second = first.user.spawners["second"]
    policy = ResourcePolicy(config=config)
    apply_settings(first, kubespawner_settings(evaluate("gpu=1", policy), policy))
    assert first.extra_resource_limits[GPU] == 1
    assert GPU not in second.extra_resource_limits
    assert second.node_selector == {"zone": "brno"}
    assert second.cpu_limit is None


def test_merge_rules():
    assert merged({"a": 1, "b": 2}, {"b": None, "c": 3}, "environment") == {
        "a": 1,
        "c": 3,
    }
    assert merged([{"k": 1}], [{"k": 1}, {"k": 2}], "tolerations") == [
        {"k": 1},
        {"k": 2},
    ]
    assert merged(4.0, 2.0, "cpu_limit") == 2.0


def test_gb_is_kubespawners_g():
    """KubeSpawner's "1G" is 1024**3 bytes; ``memr=1`` must mean the same."""
    from jupyterhub.traitlets import ByteSpecification

    assert gb_to_bytes(1) == ByteSpecification().validate(None, "1G")
    assert gb_to_bytes(2.5) == ByteSpecification().validate(None, "2.5G")


async def test_the_smallest_amounts_reach_the_pod_as_requests_and_limits(make_spawner):
    """KubeSpawner leaves out a zero: each amount must stay positive."""

    text = "cpur=0.001\ncpul=0.001\nmemr=0.001\nmeml=0.001\n"
    _, pod = await pod_for(make_spawner, text)
    resources = pod.spec.containers[0].resources
    assert resources.requests == {"cpu": 0.001, "memory": gb_to_bytes(0.001)}
    assert resources.limits["cpu"] == 0.001
    assert resources.limits["memory"] == gb_to_bytes(0.001) > 0


AMOUNTS = st.one_of(
    st.decimals(min_value=0, max_value="0.01", places=12),
    st.decimals(min_value=0, max_value=600, places=3),
).map(lambda amount: format(amount, "f"))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["cpur", "cpul", "memr", "meml"]), AMOUNTS))
def test_any_accepted_file_maps_to_amounts_kubernetes_keeps(amounts):
    text = "".join(f"{key}={value}\n" for key, value in amounts.items())
    policy = ResourcePolicy()
    try:
        resources = evaluate(text, policy)
    except ResourcesError:
        return
    mapped = kubespawner_settings(resources, policy)
    assert mapped["cpu_guarantee"] >= MIN_CPU_CORES
    assert mapped["cpu_limit"] >= MIN_CPU_CORES
    assert mapped["mem_guarantee"] >= MIN_MEM_BYTES
    assert mapped["mem_limit"] >= MIN_MEM_BYTES


@pytest.mark.parametrize(
    ("traits", "refused"),
    [
        ({"default_mem_guarantee": 1e-12}, "mem_guarantee"),
        ({"default_mem_guarantee": 1e-12, "default_mem_limit": 1e-12}, "mem"),
        ({"default_cpu_guarantee": 1e-4}, "cpu_guarantee"),
    ],
)
def test_a_policy_default_that_rounds_to_nothing_is_refused(traits, refused):
    """Not from a file (the parser refuses those): from an admin's default,
    which the policy refuses as it is set (the same minimum as a file's), so
    profile's own check (UnkeptAmount) is a last net behind it."""
    pattern = rf"default_\w*{refused}\w* must be at least 0\.001"
    with pytest.raises(TraitError, match=pattern):
        ResourcePolicy(config=Config({"ResourcePolicy": traits}))


@pytest.mark.parametrize(
    "text",
    ["meml=0.0000000001", "memr=0.0000000001", "cpur=0.0000001\ncpul=0.0000001"],
)
async def test_a_tiny_amount_never_gives_a_pod_without_requests_and_limits(
    make_spawner, text
):
    """``meml=0.0000000001`` once rounded to 0 bytes, and KubeSpawner then
    left the memory limit out of the pod: it must be refused instead."""

    try:
        _, pod = await pod_for(make_spawner, text)
    except ResourcesError:
        return
    resources = pod.spec.containers[0].resources
    for amounts in (resources.requests, resources.limits):
        assert amounts.get("cpu", 0) >= MIN_CPU_CORES, amounts
        assert amounts.get("memory", 0) >= MIN_MEM_BYTES, amounts
