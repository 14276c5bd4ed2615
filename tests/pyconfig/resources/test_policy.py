"""ResourcePolicy as an admin configures it: traitlets config and values files."""

from __future__ import annotations

import textwrap

import pytest
from traitlets import TraitError
from traitlets.config import Config

from pyconfig.admin.chart_values import ValuesError, policy_from_values
from pyconfig.resources.policy import ResourcePolicy


def test_every_setting_is_configurable_and_documented():
    traits = ResourcePolicy.class_traits(config=True)
    expected = {
        f"{kind}_{what}_{bound}"
        for kind, bound in (("default", "guarantee"), ("default", "limit"))
        for what in ("cpu", "mem")
    }
    expected |= {"default_gpu", "max_cpu", "max_mem", "max_gpu"}
    expected |= {"gpu_resource_name", "gpu_node_selector", "gpu_tolerations"}
    expected |= {"no_gpu_visible_devices", "group_caps"}
    expected |= {"max_total_cpu", "max_total_mem", "max_total_gpu"}
    assert set(traits) == expected
    for name, trait in traits.items():
        assert trait.help and len(trait.help) > 20, name


def test_config_from_hub_config_section_applies():
    config = Config()
    config.ResourcePolicy.max_gpu = 4
    config.ResourcePolicy.gpu_resource_name = "nvidia.com/mig-1g.10gb"
    policy = ResourcePolicy(config=config)
    assert policy.max_gpu == 4
    assert policy.gpu_resource_name == "nvidia.com/mig-1g.10gb"


@pytest.mark.parametrize(
    ("trait", "value", "fragment"),
    [
        ("max_cpu", 0, "must be more than 0"),
        ("default_mem_limit", -1, "must be at least 0.001"),
        ("max_gpu", -1, "cannot be negative"),
        ("gpu_resource_name", "nvidia gpu", "Kubernetes resource name"),
        ("max_cpu", "lots", "expected a float"),
    ],
)
def test_bad_settings_are_refused_naming_the_trait(trait, value, fragment):
    with pytest.raises(TraitError, match=fragment) as caught:
        ResourcePolicy(config=Config({"ResourcePolicy": {trait: value}}))
    assert trait in str(caught.value)


def write(tmp_path, text):
    path = tmp_path / "values.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_policy_is_read_from_the_umbrella_chart_location(tmp_path):
    path = write(
        tmp_path,
        """
        binderhub:
          jupyterhub:
            hub:
              config:
                ResourcePolicy:
                  max_cpu: 16
                  default_cpu_limit: 4
        """,
    )
    policy = policy_from_values(path)
    assert (policy.max_cpu, policy.default_cpu_limit) == (16, 4)


def test_policy_is_read_from_a_plain_z2jh_values_file(tmp_path):
    path = write(tmp_path, "hub:\n  config:\n    ResourcePolicy:\n      max_gpu: 0\n")
    assert policy_from_values(path).max_gpu == 0


def test_values_without_policy_give_the_defaults(tmp_path):
    path = write(tmp_path, "binderhub:\n  config: {}\n")
    assert policy_from_values(path).default_mem_limit == 16


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "hub:\n  config:\n    ResourcePolicy:\n      max_cpus: 3\n",
            "ResourcePolicy.max_cpus is not a setting; did you mean max_cpu?",
        ),
        (
            "hub:\n  config:\n    ResourcePolicy:\n      max_cpu: -2\n",
            "hub.config.ResourcePolicy: ResourcePolicy.max_cpu must be more than 0",
        ),
        ("hub: [\n", "cannot read values"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_bad_values_files_name_file_and_key(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ValuesError) as caught:
        policy_from_values(path)
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)
