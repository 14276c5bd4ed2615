"""Bad ResourcePolicy settings are refused by the hub's Python and the chart alike.

Each bound is defined once (pyconfig/resources/policy.py: the traits' ``schema`` tags,
which tools/render_schema.py copies into chart/values.schema.json). The same
bad settings go to ``ResourcePolicy`` as the hub builds it, to
``python -m pyconfig check --values``, and to the chart: its schema through
jsonschema, and a few through the real Helm render.

NaN and infinity cannot be written in JSON. Helm converts a values file's
YAML to JSON before it validates, so `.nan` and `.inf` stop there ("error
converting YAML to JSON: json: unsupported value: NaN"), never reaching the
schema; jsonschema itself would let them through (every comparison with NaN
is false). The Python side refuses them by name.
"""

from __future__ import annotations

import json
import math
from io import StringIO
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from traitlets import TraitError
from traitlets.config import Config

from offline import chart
from pyconfig.admin import cli
from pyconfig.admin.chart_values import policy_from_values
from pyconfig.resources.policy import CAPS, PolicyError, ResourcePolicy, bound_problem
from tests.conftest import ROOT

NAN, INF = math.nan, math.inf

#: Settings the hub must not start with, each with an id.
BAD: list[tuple[str, dict[str, Any]]] = [
    ("negative-total", {"max_total_cpu": -1}),
    ("negative-total-gpu", {"max_total_gpu": -1}),
    ("negative-cap", {"max_cpu": -4}),
    ("zero-cap", {"max_mem": 0}),
    ("zero-default", {"default_cpu_guarantee": 0}),
    ("tiny-default", {"default_mem_limit": 1e-12}),  # rounds to no limit
    ("bool-number", {"max_total_mem": True}),
    ("bool-count", {"max_gpu": False}),
    ("string-number", {"default_cpu_limit": "8"}),
    ("fraction-of-gpu", {"max_gpu": 1.5}),
    ("nan-total", {"max_total_cpu": NAN}),
    ("nan-default", {"default_mem_limit": NAN}),
    ("inf-cap", {"max_cpu": INF}),
    ("inf-total", {"max_total_mem": INF}),
    ("minus-inf-total", {"max_total_cpu": -INF}),
    ("group-nan", {"group_caps": {"g": {"max_cpu": NAN}}}),
    ("group-inf", {"group_caps": {"g": {"max_mem": INF}}}),
    ("group-negative", {"group_caps": {"g": {"max_mem": -1}}}),
    ("group-negative-gpu", {"group_caps": {"g": {"max_gpu": -1}}}),
    ("group-zero-cpu", {"group_caps": {"g": {"max_cpu": 0}}}),
    ("group-unknown-key", {"group_caps": {"g": {"max_cpus": 4}}}),
    ("group-string", {"group_caps": {"g": {"max_gpu": "2"}}}),
    ("group-bool", {"group_caps": {"g": {"max_gpu": True}}}),
    ("group-fraction-of-gpu", {"group_caps": {"g": {"max_gpu": 1.5}}}),
    ("group-not-a-mapping", {"group_caps": {"g": 4}}),
    ("group-caps-a-list", {"group_caps": [{"max_gpu": 1}]}),
    ("node-selector-bool", {"gpu_node_selector": {"gpu.present": True}}),
    ("toleration-operator", {"gpu_tolerations": [{"operator": "Exist"}]}),
    ("toleration-unknown-field", {"gpu_tolerations": [{"keys": "gpu"}]}),
]
BAD_IDS = [name for name, _ in BAD]

GOOD: dict[str, Any] = {
    "max_cpu": 64,
    "max_gpu": 0,
    "max_total_cpu": 0,
    "max_total_mem": 256.5,
    "group_caps": {"gpu": {"max_gpu": 2}, "big": {"max_cpu": 128, "max_mem": 512}},
    "gpu_node_selector": {"nvidia.com/gpu.present": "true"},
    "gpu_tolerations": [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ],
}


def policy_schema() -> dict[str, Any]:
    """The chart schema's hub.config.ResourcePolicy section."""
    schema = json.loads((ROOT / "chart" / "values.schema.json").read_text())
    node = schema
    for key in ("binderhub", "jupyterhub", "hub", "config", "ResourcePolicy"):
        node = node["properties"][key]
    return node


def python_refuses(section: dict[str, Any]) -> bool:
    """Whether the hub would stop at start: building the policy, or check()."""
    try:
        ResourcePolicy(config=Config({"ResourcePolicy": section})).check()
    except (TraitError, PolicyError):
        return True
    return False


def schema_refuses(section: dict[str, Any]) -> bool:
    """Whether the chart refuses: its schema, or (NaN, inf) Helm's YAML loader."""
    try:
        json.dumps(section, allow_nan=False)
    except ValueError:  # not JSON: Helm never gets as far as the schema
        document = yaml.safe_dump(with_policy(section))
        with pytest.raises(helm_python.HelmValuesError, match="unsupported value"):
            helm_python.values_from_yaml(document)
        return True
    validator = jsonschema.Draft202012Validator(policy_schema())
    return any(True for _ in validator.iter_errors(section))


def with_policy(section: dict[str, Any]) -> dict[str, Any]:
    return {
        "binderhub": {"jupyterhub": {"hub": {"config": {"ResourcePolicy": section}}}}
    }


@pytest.mark.parametrize("section", [s for _, s in BAD], ids=BAD_IDS)
def test_python_and_chart_both_refuse(section):
    assert python_refuses(section)
    assert schema_refuses(section)


def test_python_and_chart_both_accept_good_settings():
    assert not python_refuses(GOOD)
    assert not schema_refuses(GOOD)


@pytest.mark.parametrize("section", [s for _, s in BAD], ids=BAD_IDS)
def test_check_with_the_values_file_is_a_usage_error(tmp_path, capsys, section):
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(with_policy(section)))
    status = cli.main(["check", "--values", str(values), str(tmp_path)], StringIO())
    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {values}: ") and error.count("\n") == 1
    assert "ResourcePolicy" in error


def test_the_constructor_refuses_what_the_review_found():
    """ResourcePolicy(max_total_cpu=-1, group_caps={'g': {'max_cpu': nan}})."""
    with pytest.raises(TraitError, match="max_total_cpu cannot be negative"):
        ResourcePolicy(max_total_cpu=-1)
    with pytest.raises(TraitError, match=r"group_caps\.g\.max_cpu must be a finite"):
        ResourcePolicy(group_caps={"g": {"max_cpu": NAN}})


def test_a_group_cap_below_a_default_is_a_contradiction():
    """Every launch of the group's members would fail; the hub must not start."""
    policy = ResourcePolicy(group_caps={"small": {"max_cpu": 2, "max_gpu": 0}})
    with pytest.raises(PolicyError) as caught:
        policy.check()
    assert str(caught.value) == (
        "ResourcePolicy.default_cpu_limit (8.0) is above "
        "ResourcePolicy.group_caps.small.max_cpu (2)"
    )
    ResourcePolicy(default_gpu=0, group_caps={"none": {"max_gpu": 0}}).check()


MINIMAL = chart.load_values(Path(ROOT / "values" / "minimal.yaml"))


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ({"max_total_cpu": -1}, "max_total_cpu': minimum"),
        ({"group_caps": {"g": {"max_cpu": 0}}}, "group_caps/g/max_cpu"),
        ({"group_caps": {"g": {"max_cpus": 4}}}, "max_cpus"),
        ({"max_total_mem": True}, "got boolean, want number"),
    ],
)
def test_the_real_helm_render_refuses(section, fragment):
    assert python_refuses(section)
    with pytest.raises(helm_python.HelmError) as caught:
        chart.render(chart.merge_values(MINIMAL, with_policy(section)))
    assert fragment in str(caught.value)


NUMBERS = st.one_of(
    st.integers(min_value=-3, max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-3, max_value=1e6),
    st.booleans(),
    st.sampled_from(["1", None]),
)
NUMERIC = sorted(
    name
    for name, trait in ResourcePolicy.class_traits(config=True).items()
    if "minimum" in str(trait.metadata.get("schema"))
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NUMERIC), NUMBERS)
def test_python_and_schema_agree_on_every_number(name, value):
    """The trait alone against its schema property: no cross-setting checks."""
    schema = policy_schema()["properties"][name]
    schema_refused = not jsonschema.Draft202012Validator(schema).is_valid(value)
    assert _trait_refuses(name, value) == schema_refused, (name, value)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CAPS), NUMBERS)
def test_python_and_schema_agree_on_every_group_cap(cap, value):
    section = {"group_caps": {"g": {cap: value}}}
    try:
        ResourcePolicy(**section)
        python = False
    except TraitError:
        python = True
    assert python == schema_refuses(section), (cap, value)


def _trait_refuses(name: str, value: Any) -> bool:
    """Whether the trait alone refuses ``value`` (no cross-setting checks)."""
    try:
        ResourcePolicy.class_traits()[name].validate(ResourcePolicy(), value)
    except TraitError:
        return True
    return False


@pytest.mark.parametrize("written", ["1e3", "1.0e3", "1000", "1_000"])
def test_numbers_are_read_as_helm_reads_them(tmp_path, written):
    """PyYAML alone reads 1e3 as a string; Helm, and so the hub, as 1000."""
    values = tmp_path / "values.yaml"
    text = "hub:\n  config:\n    ResourcePolicy:\n      max_cpu: "
    values.write_text(f"{text}{written}\n")
    helm = helm_python.values_from_yaml(values.read_text())
    assert helm["hub"]["config"]["ResourcePolicy"]["max_cpu"] == 1000
    assert policy_from_values(values).max_cpu == 1000


BOUNDS = [
    {"minimum": 0},
    {"exclusiveMinimum": 0},
    {"minimum": 1, "maximum": 511},
    {"exclusiveMinimum": -1, "exclusiveMaximum": 2.5},
    {"type": "integer", "minimum": 0},
]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(BOUNDS), NUMBERS)
def test_bound_problem_is_json_schema_for_json_values(schema, value):
    """The Python reading of a bound is jsonschema's, for what JSON can hold."""
    full = {"type": "number", **schema}
    expected = jsonschema.Draft202012Validator(full).is_valid(value)
    assert (bound_problem(value, full) is None) == expected, (schema, value)


@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_bound_problem_refuses_what_json_cannot_hold(value):
    assert bound_problem(value, {"minimum": 0}) == "must be a finite number"


#: The other hub classes' numeric settings: bad values the chart schema
#: refuses must stop the hub too (configure(c) builds every class at start).
OTHER_BAD = [
    ("ServerQuota", "limit", -1),
    ("ServerQuota", "limit", True),
    ("ServerQuota", "remove_refused_after", -5),
    ("RepositoryResources", "cache_entries", -1),
    ("RepoFileFetcher", "timeout", 0),
    ("RepoFileFetcher", "max_redirects", -1),
    ("RepoFileFetcher", "max_redirects", 1.5),
    ("SSHKeys", "file_mode", -1),
    ("SSHKeys", "file_mode", 1000),
]
OTHER_NONFINITE = [
    ("ServerQuota", "remove_refused_after", NAN),
    ("RepoFileFetcher", "timeout", INF),
]


def hub_config_schema(section: str) -> dict[str, Any]:
    schema = json.loads((ROOT / "chart" / "values.schema.json").read_text())
    node = schema["properties"]["binderhub"]["properties"]["jupyterhub"]
    return node["properties"]["hub"]["properties"]["config"]["properties"][section]


def hub_refuses(section: str, trait: str, value: Any) -> str:
    from pyconfig.hub.configure import configure

    c = Config()
    c[section][trait] = value
    with pytest.raises(ValueError, match="Persistent BinderHub configuration") as e:
        configure(c)
    return str(e.value)


@pytest.mark.parametrize(
    ("section", "trait", "value"),
    OTHER_BAD,
    ids=[f"{s}.{t}={v!r}" for s, t, v in OTHER_BAD],
)
def test_other_classes_bad_numbers_are_refused_by_the_hub_and_the_schema(
    section, trait, value
):
    message = hub_refuses(section, trait, value)
    assert section in message and trait in message
    validator = jsonschema.Draft7Validator(hub_config_schema(section))
    assert list(validator.iter_errors({trait: value})), "the schema let it through"


@pytest.mark.parametrize(("section", "trait", "value"), OTHER_NONFINITE)
def test_other_classes_refuse_nan_and_infinity(section, trait, value):
    """Helm stops these when it reads the values file (see the module doc)."""
    assert "finite" in hub_refuses(section, trait, value)
