"""Effective resources: defaults overlaid with the file, rules, caps, sources."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from pyconfig.resources.effective import Source, evaluate
from pyconfig.resources.policy import PolicyError, ResourcePolicy
from pyconfig.resources.problems import ProblemKind, ResourcesError


def values(resources):
    return {
        name: getattr(resources, name).value
        for name in ("cpu_guarantee", "cpu_limit", "mem_guarantee", "mem_limit", "gpu")
    }


def sources(resources):
    return {
        name: getattr(resources, name).source
        for name in ("cpu_guarantee", "cpu_limit", "mem_guarantee", "mem_limit", "gpu")
    }


def policy(**traits) -> ResourcePolicy:
    return ResourcePolicy(config=Config({"ResourcePolicy": traits}))


SEED_DEFAULTS = {
    "cpu_guarantee": 1,
    "cpu_limit": 8,
    "mem_guarantee": 1,
    "mem_limit": 16,
    "gpu": 0,
}


def test_no_file_gives_the_seed_defaults():
    """Seed: guaranteed 1G of RAM and 1 CPU, up to 16G and 8 CPU, no GPU."""
    result = evaluate(b"", ResourcePolicy())
    assert values(result) == SEED_DEFAULTS
    assert set(sources(result).values()) == {Source.DEFAULT}


def test_gpu_only_keeps_cpu_and_memory_defaults():
    result = evaluate("gpu=1\n", ResourcePolicy())
    assert values(result) == {**SEED_DEFAULTS, "gpu": 1}
    assert result.gpu.source is Source.FILE and result.gpu.line == 1
    assert result.cpu_limit.source is Source.DEFAULT


def test_each_value_says_whether_it_came_from_the_file():
    result = evaluate("# c\ncpur=2\nmeml=4\n", ResourcePolicy())
    assert sources(result) == {
        "cpu_guarantee": Source.FILE,
        "cpu_limit": Source.DEFAULT,
        "mem_guarantee": Source.DEFAULT,
        "mem_limit": Source.FILE,
        "gpu": Source.DEFAULT,
    }
    assert (result.cpu_guarantee.line, result.mem_limit.line) == (2, 3)


def test_request_above_default_limit_raises_the_limit():
    result = evaluate("cpur=12\n", ResourcePolicy())
    assert result.cpu_limit.value == 12
    assert result.cpu_limit.source is Source.ADJUSTED
    assert "raised to cpur (line 1)" in result.cpu_limit.note


def test_limit_below_default_request_lowers_the_request():
    result = evaluate("meml=0.5\n", ResourcePolicy())
    assert result.mem_guarantee.value == 0.5
    assert result.mem_guarantee.source is Source.ADJUSTED
    assert "lowered to meml" in result.mem_guarantee.note


def test_request_within_default_limit_keeps_the_default_limit():
    result = evaluate("cpur=4\n", ResourcePolicy())
    assert (result.cpu_guarantee.value, result.cpu_limit.value) == (4, 8)
    assert result.cpu_limit.source is Source.DEFAULT


def test_request_above_given_limit_is_an_error_naming_both_lines():
    with pytest.raises(ResourcesError) as caught:
        evaluate("cpul=2\ncpur=4\n", ResourcePolicy())
    [problem] = caught.value.problems
    assert problem.kind is ProblemKind.REQUEST_OVER_LIMIT
    assert problem.line == 2
    assert "cpur (4) is more than cpul (2, line 1)" in problem.message


def test_equal_request_and_limit_is_fine():
    result = evaluate("memr=4\nmeml=4\n", ResourcePolicy())
    assert (result.mem_guarantee.value, result.mem_limit.value) == (4, 4)


@pytest.mark.parametrize(
    ("text", "line", "cap_name"),
    [
        ("cpul=64", 1, "ResourcePolicy.max_cpu"),
        ("cpur=40", 1, "ResourcePolicy.max_cpu"),
        ("meml=200", 1, "ResourcePolicy.max_mem"),
        ("gpu=3", 1, "ResourcePolicy.max_gpu"),
    ],
)
def test_over_a_cap_is_an_error_that_names_the_cap(text, line, cap_name):
    with pytest.raises(ResourcesError) as caught:
        evaluate(text, ResourcePolicy())
    [problem] = caught.value.problems
    assert problem.kind is ProblemKind.OVER_CAP
    assert problem.line == line
    assert cap_name in problem.message


def test_a_request_over_a_cap_is_one_the_service_cannot_give():
    with pytest.raises(ResourcesError) as caught:
        evaluate("gpu=3", ResourcePolicy())
    assert caught.value.verdict == "asks for something this service cannot give"
    with pytest.raises(ResourcesError) as caught:
        evaluate("cpu=1\ngpu=3\n", ResourcePolicy())
    assert caught.value.verdict == (
        "could not be read as a .resources file and asks for something this "
        "service cannot give"
    )
    with pytest.raises(ResourcesError) as caught:
        evaluate("cpur=4\ncpul=2\n", ResourcePolicy())
    assert caught.value.verdict == "is not a valid .resources file"


@pytest.mark.parametrize(
    ("text", "cap", "said"),
    [
        ("gpu=2", {"max_gpu": 1}, "cap of 1 GPU (ResourcePolicy.max_gpu)"),
        ("gpu=3", {"max_gpu": 2}, "cap of 2 GPUs (ResourcePolicy.max_gpu)"),
        ("cpul=2", {"max_cpu": 1}, "cap of 1 CPU core (ResourcePolicy.max_cpu)"),
        ("cpul=1", {"max_cpu": 0.5}, "cap of 0.5 CPU cores (ResourcePolicy"),
        ("meml=2", {"max_mem": 1}, "cap of 1 GB (ResourcePolicy.max_mem)"),
    ],
)
def test_a_cap_of_one_is_singular(text, cap, said):
    defaults = {"default_cpu_guarantee": 0.1, "default_cpu_limit": 0.1}
    defaults |= {"default_mem_guarantee": 0.1, "default_mem_limit": 0.1}
    with pytest.raises(ResourcesError) as caught:
        evaluate(text, policy(**defaults, **cap))
    [problem] = caught.value.problems
    assert said in problem.message
    assert " 1 GPUs" not in problem.message and " 1 CPU cores" not in problem.message


def test_caps_follow_the_policy():
    assert evaluate("cpul=64", policy(max_cpu=64)).cpu_limit.value == 64
    with pytest.raises(ResourcesError, match="has no GPUs"):
        evaluate("gpu=1", policy(max_gpu=0))


def test_defaults_follow_the_policy():
    custom = policy(
        default_cpu_guarantee=0.5,
        default_cpu_limit=2,
        default_mem_guarantee=2,
        default_mem_limit=4,
        default_gpu=1,
    )
    assert values(evaluate("", custom)) == {
        "cpu_guarantee": 0.5,
        "cpu_limit": 2,
        "mem_guarantee": 2,
        "mem_limit": 4,
        "gpu": 1,
    }


def test_parse_and_policy_problems_are_reported_together():
    with pytest.raises(ResourcesError) as caught:
        evaluate("cpu=1\ngpu=9\nmemr=8\nmeml=4\n", ResourcePolicy())
    assert [(p.line, p.kind) for p in caught.value.problems] == [
        (1, ProblemKind.UNKNOWN_KEY),
        (2, ProblemKind.OVER_CAP),
        (3, ProblemKind.REQUEST_OVER_LIMIT),
    ]


def test_contradictory_policy_is_the_admins_error_naming_traits():
    bad = policy(default_cpu_guarantee=4, default_cpu_limit=2, max_mem=8)
    with pytest.raises(PolicyError) as caught:
        evaluate("", bad)
    message = str(caught.value)
    assert "ResourcePolicy.default_cpu_guarantee (4.0)" in message
    assert (
        "ResourcePolicy.default_mem_limit (16.0) is above ResourcePolicy.max_mem"
        in (message)
    )


GPU_GROUP = {
    "max_gpu": 0,
    "group_caps": {"gpu": {"max_gpu": 2}, "big": {"max_cpu": 64}},
}


def test_only_members_of_a_group_may_ask_for_gpus():
    base = policy(**GPU_GROUP)
    with pytest.raises(ResourcesError) as caught:
        evaluate("gpu=1", base.for_groups(["students"]))
    message = caught.value.problems[0].message
    assert "cap of 0 GPUs (ResourcePolicy.max_gpu)" in message
    assert "members of gpu may ask for more" in message
    assert evaluate("gpu=2", base.for_groups(["students", "gpu"])).gpu.value == 2


def test_group_cap_is_named_when_it_refuses():
    base = policy(**GPU_GROUP)
    with pytest.raises(
        ResourcesError, match=r"ResourcePolicy\.group_caps\.gpu\.max_gpu"
    ):
        evaluate("gpu=3", base.for_groups(["gpu"]))


def test_the_most_generous_group_wins_and_others_keep_the_base_caps():
    base = policy(**GPU_GROUP)
    both = base.for_groups(["gpu", "big"])
    assert (both.max_gpu, both.max_cpu, both.max_mem) == (2, 64, base.max_mem)
    assert base.for_groups(["nobody"]) is base


def test_bad_group_caps_are_refused_naming_the_group():
    from traitlets import TraitError

    with pytest.raises(TraitError, match=r"group_caps\.gpu\.max_gpu"):
        policy(group_caps={"gpu": {"max_gpu": -1}})
    with pytest.raises(TraitError, match=r"group_caps\.gpu must map"):
        policy(group_caps={"gpu": {"gpus": 1}})


@pytest.mark.parametrize(
    "text",
    [
        "meml=0.0000000001",  # would be 0 bytes: no memory limit at all
        "memr=0.0000000001",  # 0 bytes: Kubernetes sets the request to the limit
        "memr=0.0000000001\nmeml=0.0000000001",
        "cpul=0.0000001",  # less than 1m
    ],
)
def test_a_tiny_amount_cannot_get_past_the_caps(text):
    """An amount that rounds to nothing is refused, not mapped to "no limit"."""
    with pytest.raises(ResourcesError) as caught:
        evaluate(text, policy())
    assert {p.kind for p in caught.value.problems} == {ProblemKind.TOO_SMALL}
