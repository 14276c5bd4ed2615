"""What a repository author installs: the wheel and the pre-commit hook."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

import pyconfig
from tests.conftest import ROOT


def test_pre_commit_hook_runs_the_installed_command_on_resources_files():
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "check-resources"
    assert hook["entry"] == "pyconfig check"
    pattern = re.compile(hook["files"])
    assert pattern.search(".resources") and pattern.search("sub/dir/.resources")
    assert not pattern.search("my.resources") and not pattern.search(".resources.bak")


#: What `pip install` of the wheel may put in an empty venv: the project,
#: its four dependencies (pyproject.toml) and theirs, and pip itself.
AUTHOR_DISTRIBUTIONS = {
    "persistent-binderhub",
    "jsonschema",
    "traitlets",
    "pyyaml",
    "tornado",
    "attrs",
    "referencing",
    "rpds-py",
    "jsonschema-specifications",
    "typing-extensions",
    "pip",
    "setuptools",
}


@pytest.mark.slow
def test_wheel_ships_the_schema_and_a_working_command(tmp_path):
    """Build the wheel, install it in a fresh venv, check a file with it."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for name in ("pyconfig", "schemas"):
        shutil.copytree(ROOT / name, source / name, symlinks=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("pyconfig/resources/resources.schema.json")
    assert shipped == (ROOT / "schemas" / "resources.schema.json").read_bytes()

    # A clean venv, as an author has: the wheel brings its own dependencies
    # (from the package index, at the versions this project tests).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--constraint",
            str(ROOT / "requirements" / "constraints.txt"),
            str(wheel),
        ],
        check=True,
        timeout=600,
    )
    listed = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "list", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    installed = {d["name"].lower().replace("_", "-") for d in json.loads(listed.stdout)}
    assert installed - AUTHOR_DISTRIBUTIONS == set(), "more than the minimum"
    assert {"jsonschema", "traitlets", "pyyaml", "tornado"} <= installed
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".resources").write_text("gpu=1\ncpur=two\n")
    result = subprocess.run(
        [venv / "bin" / "pyconfig", "check", str(repo)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 1
    assert "'two' is not a number" in result.stdout
    # The installed command calls itself by the name it was installed as.
    command = [venv / "bin" / "pyconfig"]
    shown = subprocess.run([*command, "--help"], capture_output=True, text=True)
    assert shown.stdout.startswith("usage: pyconfig "), shown.stdout
    version = subprocess.run([*command, "--version"], capture_output=True, text=True)
    assert version.stdout == f"pyconfig {pyconfig.__version__}\n", version
    # preview and diff need a clone (the chart, Helm's engine, the hub's
    # packages): the installed command says so, and the wheel holds neither.
    for clone_only in ("preview", "diff"):
        refused = subprocess.run(
            [*command, clone_only, "--values", "values.yaml"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert refused.returncode == 2, refused
        assert "run in a clone of the project" in refused.stderr
        assert "make preview / make diff" in refused.stderr
    with zipfile.ZipFile(wheel) as archive:
        modules = {Path(n).stem for n in archive.namelist() if n.endswith(".py")}
        rules = archive.read("pyconfig/admin/chart-rules.json")
    # check --values refuses what the chart refuses (the schema's sections).
    assert rules == (ROOT / "pyconfig/admin/chart-rules.json").read_bytes()
    assert not modules & {"preview", "values_diff", "values_code", "sandbox"}


@pytest.mark.slow  # builds the wheel
def test_make_dist_prints_only_the_wheel():
    result = subprocess.run(
        ["make", "--no-print-directory", "dist"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [wheel] = (ROOT / "dist").glob("*.whl")
    assert (result.stdout, result.stderr) == (f"dist/{wheel.name}\n", "")
