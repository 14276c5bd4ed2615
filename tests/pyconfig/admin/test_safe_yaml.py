"""Values files whose YAML aliases would expand without bound: refused by
every admin command that reads one, in one line naming the file."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from pyconfig.admin import safe_yaml
from tests.conftest import ROOT


def bomb(levels: int = 9, width: int = 9) -> str:
    """Nested anchors: each level an anchor of ``width`` aliases of the last."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_the_bomb_is_small_and_would_expand_to_nine_to_the_ninth():
    text = bomb()
    assert len(text) < 600
    node = yaml.compose(text)
    sizes = safe_yaml._sizes(node)
    assert max(sizes.values()) > 9**9  # what any walk of the loaded values meets


def test_the_bomb_is_refused_without_building_it():
    with pytest.raises(safe_yaml.UnsafeYAML, match="excessive aliasing"):
        safe_yaml.load(bomb())


def test_an_anchor_that_contains_itself_is_refused():
    assert yaml.safe_load("x: &x [*x]")  # PyYAML builds a cycle
    with pytest.raises(safe_yaml.UnsafeYAML, match="contains itself"):
        safe_yaml.load("x: &x [*x]")


def test_ordinary_anchors_load_as_pyyaml_loads_them():
    text = (
        "defaults: &d {cpu: 1, memory: 1G}\n"
        "small: *d\nlarge: {<<: *d, cpu: 8}\n"
        "groups: [*d, *d, *d]\n"
    )
    assert safe_yaml.load(text) == yaml.safe_load(text)


def test_many_aliases_in_a_large_document_pass_as_in_go_yaml():
    """Under go-yaml's ratio: 2000 written values, 150 of them aliased."""
    values = "\n".join(f"k{n}: {n}" for n in range(2000))
    aliases = ", ".join(["*a"] * 25)
    text = f"a: &a [1, 2, 3, 4, 5]\n{values}\nb: [{aliases}]\n"
    assert len(safe_yaml.load(text)["b"]) == 25


@pytest.mark.slow  # 100 000 levels
def test_nesting_too_deep_for_the_parser_is_refused():
    with pytest.raises(safe_yaml.UnsafeYAML, match="nested too deeply"):
        safe_yaml.load("[" * 100_000)


@pytest.fixture(scope="module")
def bomb_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bomb") / "bomb.yaml"
    path.write_text(bomb())
    return path


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow  # a process each
@pytest.mark.parametrize(
    "command",
    [
        ("-m", "offline.chart", "{}"),
        ("-m", "pyconfig", "check", "--values", "{}", str(ROOT / "values")),
        ("-m", "offline", "diff", "{}", "values/minimal.yaml"),
        ("-m", "offline", "diff", "values/minimal.yaml", "{}"),
        ("-m", "offline", "preview", "--values", "{}", "--launch", "gh/a/b/HEAD"),
    ],
    ids=["render", "check", "diff-a", "diff-b", "preview"],
)
def test_every_command_refuses_the_bomb_in_one_line(bomb_file, command):
    result = _run(*(str(bomb_file) if a == "{}" else a for a in command))
    assert result.returncode in (1, 2)
    assert result.stderr == (
        f"error: {bomb_file}: refused: its YAML aliases expand past 4229 values "
        "(excessive aliasing, which Helm refuses too)\n"
    )
    assert "Traceback" not in result.stdout


@pytest.mark.slow  # a process
def test_diff_refuses_the_bomb_from_stdin():
    result = _run("-m", "offline", "diff", "-", "values/minimal.yaml", stdin=bomb())
    assert result.returncode == 2
    assert result.stderr.startswith("error: stdin: refused: its YAML aliases")
    assert result.stderr.count("\n") == 1
