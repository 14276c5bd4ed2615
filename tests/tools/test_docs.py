"""docs/resources.md is generated from the schema and must not go stale."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pyconfig.resources.problems import ProblemKind
from pyconfig.resources.schema import resource_keys
from tests.conftest import ROOT

PAGE = ROOT / "docs" / "resources.md"


@pytest.mark.slow  # a process
def test_docs_are_fresh():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "render_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_docs_name_every_key_and_every_error_class():
    text = PAGE.read_text(encoding="utf-8")
    for key in resource_keys():
        assert f"| `{key}` |" in text
    for kind in ProblemKind:
        assert f"(`{kind.code}`)" in text


def test_docs_say_exactly_what_a_gb_is():
    assert "1 GB = 1024³ bytes" in PAGE.read_text(encoding="utf-8")


def test_settings_page_lists_every_setting_of_every_class_with_its_help():
    sys.path.insert(0, str(ROOT / "tools"))
    from render_docs import CONFIGURABLES

    from tools.render_schema import help_parts

    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for cls in CONFIGURABLES:
        assert f"## `{cls.__name__}`" in text
        for name, trait in cls.class_traits(config=True).items():
            assert f"| `{name}` |" in text, (cls.__name__, name)
            assert len(trait.help) > 20, f"{cls.__name__}.{name} needs help text"
            prose, example = help_parts(trait)
            assert prose.replace("|", "\\|") in text
            assert example is None or f"```yaml\n{example}```" in text


def test_the_group_caps_example_in_its_help_does_what_the_help_says(tmp_path):
    """The example is chart values: merged into a values file it renders,
    the hub's configuration takes it, and the caps come out as described."""
    import yaml

    from offline import chart
    from offline.hub_pod import config_for
    from pyconfig.resources.policy import ResourcePolicy
    from tools.render_schema import help_parts

    prose, example = help_parts(ResourcePolicy.class_traits()["group_caps"])
    assert example and "only members of gpu may ask for GPUs" in prose
    values = chart.merge_values(
        chart.load_values(ROOT / "values" / "minimal.yaml"), yaml.safe_load(example)
    )
    config, _ = config_for(values, tmp_path)
    policy = ResourcePolicy(config=config)
    assert policy.max_gpu == 0
    assert policy.for_groups(["gpu"]).max_gpu == 2
    assert policy.for_groups(["teachers"]).max_gpu == 0
    assert policy.for_groups(["teachers"]).max_mem == 256
    assert policy.for_groups(["gpu"]).max_mem == policy.max_mem
