"""pyconfig/admin/chart_values.py holds a values file to the chart's rules:
hub.config's sections are the classes the chart's schema accepts."""

from __future__ import annotations

import json

import pytest
import yaml
from helm_python.errors import HelmValuesError

from offline import chart
from pyconfig.admin.chart_values import (
    ValuesError,
    chart_rules,
    checked_policy_from_values,
    configurable_from_values,
    hub_config_sections,
)
from pyconfig.hub.quota import ServerQuota
from pyconfig.resources.policy import ResourcePolicy
from tests.conftest import ROOT

TYPO = {
    "binderhub": {
        "jupyterhub": {
            "hub": {
                "config": {
                    "ResourcePolicyy": {"max_cpu": 4},
                }
            }
        }
    }
}


def written(tmp_path, values) -> object:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_the_sections_are_the_chart_schemas():
    schema = json.loads((ROOT / "chart" / "values.schema.json").read_text())
    config = schema["properties"]["binderhub"]["properties"]["jupyterhub"]
    config = config["properties"]["hub"]["properties"]["config"]
    assert hub_config_sections() == set(config["properties"])
    assert config["additionalProperties"] is False
    assert {"ResourcePolicy", "KubeSpawner", "GenericOAuthenticator"} <= (
        hub_config_sections()
    )


@pytest.mark.parametrize(
    "read",
    [checked_policy_from_values, lambda p: configurable_from_values(ServerQuota, p)],
)
def test_a_misspelled_section_is_refused_with_the_closest_name(tmp_path, read):
    path = written(tmp_path, TYPO)
    with pytest.raises(ValuesError) as refused:
        read(path)
    assert str(refused.value) == (
        f"{path}: binderhub.jupyterhub.hub.config.ResourcePolicyy is not a class "
        "the hub can be given; did you mean ResourcePolicy?"
    )


VALUES = sorted(p.name for p in (ROOT / "values").glob("*.yaml"))


@pytest.mark.parametrize("name", VALUES)
def test_every_values_file_of_the_project_passes(name):
    checked_policy_from_values(ROOT / "values" / name)


@pytest.mark.slow  # renders the release
def test_the_chart_refuses_the_same_file(tmp_path):
    with pytest.raises(HelmValuesError, match="'ResourcePolicyy' not allowed"):
        chart.render(chart.load_values(written(tmp_path, TYPO)))


def test_the_charts_notebook_resources_are_the_policys_defaults():
    """So naming this chart's singleuser key for a default changes only the
    name, never the amount."""
    amounts, policy = chart_rules()["singleuser"], ResourcePolicy()
    assert amounts["cpu"] == {
        "guarantee": policy.default_cpu_guarantee,
        "limit": policy.default_cpu_limit,
    }
    assert amounts["memory"] == {
        "guarantee": f"{policy.default_mem_guarantee:g}G",
        "limit": f"{policy.default_mem_limit:g}G",
    }
    values = yaml.safe_load((ROOT / "chart" / "values.yaml").read_text())
    assert amounts == {
        part: values["binderhub"]["jupyterhub"]["singleuser"][part]
        for part in ("cpu", "memory")
    }


def test_a_cap_below_the_charts_default_names_the_charts_key(tmp_path):
    """The file sets only max_cpu: the default above it is this chart's
    singleuser.cpu.limit, which the admin may lower, not a
    ResourcePolicy.default_cpu_limit they never wrote."""
    path = written(
        tmp_path,
        {
            "binderhub": {
                "jupyterhub": {"hub": {"config": {"ResourcePolicy": {"max_cpu": 4}}}}
            }
        },
    )
    with pytest.raises(ValuesError) as refused:
        checked_policy_from_values(path)
    assert str(refused.value) == (
        f"{path}: binderhub.jupyterhub.singleuser.cpu.limit (8, this chart's "
        "default, taken as ResourcePolicy.default_cpu_limit) is above "
        "binderhub.jupyterhub.hub.config.ResourcePolicy.max_cpu (4.0)"
    )
