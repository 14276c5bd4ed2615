"""tools/binderhub_app.py: the BinderHub app from git at the pinned commit,
else the pinned commit's wheel, else one line naming both.

GitHub cannot be reached from here, so the git source is a repository that
does not exist, and pip really fails on it; `make setup` takes the wheel
path on this machine on every run (.venv-binderhub)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tools import binderhub_app
from tools.binderhub_app import VERSION, AppError, install, pinned_wheel

NOWHERE = "file:///nonexistent/binderhub"


def wheel(folder: Path, version: str) -> Path:
    path = folder / f"binderhub-{version}-py3-none-any.whl"
    path.write_bytes(b"")
    return path


def test_only_the_wheel_of_the_pinned_commit_is_taken(tmp_path):
    other = wheel(tmp_path, "0.2.0.post2200+gdeadbeef")
    with pytest.raises(AppError) as refused:
        pinned_wheel(tmp_path)
    assert str(refused.value).endswith(f"has {other.name}, not binderhub {VERSION}")
    pinned = wheel(tmp_path, VERSION)
    assert pinned_wheel(tmp_path) == pinned


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(AppError) as refused:
        pinned_wheel(tmp_path / "none")
    assert str(refused.value) == f"no wheel folder {tmp_path / 'none'}"


@pytest.mark.slow  # pip runs
def test_without_the_repository_or_the_wheel_both_reasons_are_given(tmp_path):
    """pip (this virtualenv's, which the failed install leaves as it was) is
    asked for the unreachable repository; the empty folder has no wheel."""
    venv = Path(sys.prefix)
    with pytest.raises(AppError) as refused:
        install(venv, tmp_path, NOWHERE)
    message = str(refused.value)
    assert message.startswith(f"{NOWHERE}: ")
    assert f"{tmp_path} has no binderhub wheel, not binderhub {VERSION}" in message
    assert "\n" not in message


@pytest.mark.slow  # pip runs
def test_the_command_fails_with_one_line(tmp_path, capsys):
    venv = Path(sys.prefix)
    status = binderhub_app.main(
        [str(venv), "--wheels", str(tmp_path), "--repository", NOWHERE]
    )
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("error: BinderHub app: ") and err.count("\n") == 1
