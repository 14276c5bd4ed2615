"""`make deps`: the pinned binderhub chart from its repository or a local copy.

The chart repository cannot be reached from here, so these tests exercise
the fallback: a local copy of the repository made in a temporary folder from
the archive `make deps` already put in chart/charts/ (with an index.yaml
written by Helm's own `repo index`), never ../shared directly.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
import yaml

from tests.conftest import ROOT
from tools import deps

[PINNED] = deps.declared()


def chart_copy(tmp_path: Path) -> Path:
    """This chart without its dependency (charts/ empty)."""
    copy = tmp_path / "chart"
    shutil.copytree(
        deps.CHART, copy, symlinks=True, ignore=shutil.ignore_patterns("charts")
    )
    link = copy / "files" / "pyconfig"
    link.unlink()
    link.symlink_to(ROOT / "pyconfig")
    return copy


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A copy of the chart repository: the archive and Helm's index of it."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    shutil.copy(PINNED.archive, folder)
    helm_python.repo_index_generate(str(folder), base_url="https://charts.invalid")
    return folder


def test_the_committed_lock_matches_chart_yaml_by_helms_own_check(tmp_path):
    """`helm dependency build` compares Chart.lock's digest with Chart.yaml;
    offline it must then fail to download, not call the lock out of sync."""
    copy = chart_copy(tmp_path)
    assert deps.check_lock(copy) == deps.declared(copy)
    with pytest.raises(helm_python.HelmRepoError) as caught:
        helm_python.dependency_build(str(copy))
    assert "out of sync" not in str(caught.value)
    assert "repository" in str(caught.value)  # it got as far as downloading


def test_a_lock_that_no_longer_matches_is_refused(tmp_path):
    copy = chart_copy(tmp_path)
    meta = copy / "Chart.yaml"
    meta.write_text(meta.read_text().replace(PINNED.version, "1.0.0"))
    with pytest.raises(deps.DepsError, match=r"out of date with Chart.yaml"):
        deps.check_lock(copy)
    with pytest.raises(helm_python.HelmError, match="out of sync"):
        helm_python.dependency_build(str(copy))  # Helm agrees


def test_the_local_copy_is_used_when_the_repository_is_unreachable(tmp_path, mirror):
    copy = chart_copy(tmp_path)
    deps.fetch(mirror, chart=copy)
    [archive] = (copy / "charts").glob("*.tgz")
    assert archive.name == PINNED.archive.name
    assert archive.read_bytes() == PINNED.archive.read_bytes()
    assert deps.archive_ok(deps.declared(copy)[0])


def test_an_altered_archive_in_the_copy_is_refused(tmp_path, mirror):
    copy = chart_copy(tmp_path)
    tampered = mirror / PINNED.archive.name
    tampered.write_bytes(tampered.read_bytes() + b"\0")
    with pytest.raises(deps.DepsError, match=r"digest .* differs"):
        deps.fetch(mirror, chart=copy)
    assert not list(copy.glob("charts/*.tgz"))


def test_neither_source_is_one_line_naming_both(tmp_path):
    copy = chart_copy(tmp_path)
    with pytest.raises(deps.DepsError) as caught:
        deps.fetch(tmp_path / "nowhere", chart=copy)
    message = str(caught.value)
    assert "\n" not in message
    assert PINNED.repository in message and str(tmp_path / "nowhere") in message
    assert "CHART_MIRROR" in message


def test_the_command_says_what_it_did(tmp_path, mirror):
    result = subprocess.run(
        [sys.executable, "-m", "tools.deps"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CHART_MIRROR": str(mirror)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"chart/charts/ has {PINNED.name} {PINNED.version}"
    assert result.stderr == ""


def test_the_index_of_the_copy_names_the_pinned_version(mirror):
    index = yaml.safe_load((mirror / "index.yaml").read_text())
    assert [e["version"] for e in index["entries"][PINNED.name]] == [PINNED.version]


@pytest.mark.parametrize(
    ("target", "builds", "skips"),
    [
        (
            "render",
            ["tools.deps", "offline.chart"],
            ["binderhub_app", "npm ci", "checkov"],
        ),
        ("docs", ["render_docs.py"], ["binderhub_app", "npm ci", "tools.deps"]),
        ("demo", ["binderhub_app", "npm ci", "offline.demo"], []),
    ],
)
def test_each_target_builds_only_what_it_uses(target, builds, skips):
    """What `make -B TARGET` would run (everything out of date, nothing run):
    an admin's render never waits for the apps only the tests and the demo
    start."""
    planned = subprocess.run(
        ["make", "-n", "-B", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert planned.returncode == 0, planned.stderr
    for step in builds:
        assert step in planned.stdout, (target, step)
    for step in skips:
        assert step not in planned.stdout, (target, step)
