"""offline/schema_problems.py: Helm's schema refusal, from the real engine,
as one line per problem named by the key an admin writes."""

from __future__ import annotations

import subprocess
import sys

import helm_python
import pytest
import yaml

from offline import chart
from offline.schema_problems import problems
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # renders the release

#: One problem in each chart's schema: ours, binderhub's, z2jh's.
WRONG = {
    "binderhub": {
        "replicass": 2,
        "jupyterhub": {
            "hub": {
                "image": {"tag": 5},
                "config": {"ResourcePolicy": {"max_cpuu": 3, "max_gpu": "x"}},
            }
        },
    }
}
EXPECTED = [
    "binderhub.jupyterhub.hub.config.ResourcePolicy.max_gpu: got string, want integer",
    "binderhub.jupyterhub.hub.config.ResourcePolicy.max_cpuu is not a key here; "
    "did you mean max_cpu?",
    "binderhub.replicass is not a key here",
    "binderhub.jupyterhub.hub.image.tag: got number, want string",
]


def wrong_values(tmp_path):
    values = chart.merge_values(chart.load_values(ROOT / "values/minimal.yaml"), WRONG)
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump(values))
    return path, values


def test_each_problem_of_each_chart_is_one_line_by_key(tmp_path):
    _, values = wrong_values(tmp_path)
    with pytest.raises(helm_python.HelmError) as refused:
        chart.render(values)
    assert problems(str(refused.value)) == EXPECTED


@pytest.mark.parametrize(
    "command",
    [
        ["offline.chart"],
        ["offline", "preview", "--launch", "gh/a/b/HEAD", "--values"],
        ["offline", "diff", "values/minimal.yaml"],
    ],
    ids=["render", "preview", "diff"],
)
def test_render_preview_and_diff_print_them_so(tmp_path, command):
    path, _ = wrong_values(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", *command, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (1, 2)
    assert result.stderr.splitlines() == [f"error: {path}: {p}" for p in EXPECTED]


def test_other_refusals_are_left_to_the_caller():
    assert problems("template: x.yaml:3: something else went wrong") == []
