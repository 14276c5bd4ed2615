"""`python -m pyconfig check` on hostile paths and values files.

The contract: exit 0 valid, 1 invalid, 2 usage or unreadable, always with
one line on stderr and never a traceback, and never a hang. Each case here
once crashed or hung.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fakes.standins import RawFileServer
from pyconfig.resources.parser import MAX_BYTES
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # every check is a process

LONG = "a" * 5000


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The checker in a subprocess, killed (test fails) if it hangs."""
    return subprocess.run(
        [sys.executable, "-m", "pyconfig", "check", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=30,
    )


def assert_usage_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    """Exit 2 with one ``error:`` line naming the problem, no traceback."""
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr


def test_a_very_long_path_is_a_usage_error(tmp_path):
    assert_usage_error(run(LONG, cwd=tmp_path), "File name too long")


def test_a_very_long_path_is_cut_in_the_message(tmp_path):
    result = run(LONG, cwd=tmp_path)
    assert "(5000 characters)" in result.stderr
    assert len(result.stderr) < 1000


def test_a_very_long_repository_spec_is_a_usage_error(tmp_path):
    result = run(f"gh/{LONG}", cwd=tmp_path)
    assert_usage_error(result, "gh/aaa")


def test_a_path_through_a_file_is_a_usage_error(tmp_path):
    """ENOTDIR: what an unreadable folder gives too, and testable as root."""
    (tmp_path / "file").write_text("gpu=1\n")
    assert_usage_error(run("file/.resources", cwd=tmp_path), "Not a directory")
    assert_usage_error(run("file/repo", cwd=tmp_path), "Not a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads through any permission")
def test_a_file_in_an_unreadable_folder_is_a_usage_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / ".resources").write_text("gpu=1\n")
    folder.chmod(0)
    try:
        assert_usage_error(run("locked/.resources", cwd=tmp_path), "ermission")
        assert_usage_error(run("locked", cwd=tmp_path), "ermission")
    finally:
        folder.chmod(0o700)


def test_a_permission_error_is_a_usage_error_even_as_root(tmp_path, monkeypatch):
    """The code path of a folder that may not be read, whoever runs the tests."""
    from io import StringIO

    from pyconfig.admin import cli

    def refuse(self: Path):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "lstat", refuse)
    errors = StringIO()
    monkeypatch.setattr(sys, "stderr", errors)
    assert cli.main(["check", str(tmp_path / "x")], out=StringIO()) == 2
    assert errors.getvalue() == f"error: {tmp_path / 'x'}: Permission denied\n"


@pytest.mark.parametrize("where", ["named", "in-folder"])
def test_a_fifo_is_refused_without_opening_it(tmp_path, where):
    repo = tmp_path / "repo"
    repo.mkdir()
    os.mkfifo(repo / ".resources")  # opening it would wait for a writer
    target = repo / ".resources" if where == "named" else repo
    assert_usage_error(run(str(target)), "a FIFO")


def test_a_device_is_refused(tmp_path):
    assert_usage_error(run("/dev/null"), "not a regular file")


def test_a_fifo_as_values_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "values.yaml")
    result = run("--values", str(tmp_path / "values.yaml"), str(tmp_path))
    assert_usage_error(result, "not a regular file")


def test_a_deeply_nested_values_file_is_a_usage_error(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text("[" * 5000 + "\n")
    result = run("--values", str(values), str(tmp_path))
    assert_usage_error(result, "nested too deeply")


def test_a_broken_values_file_is_named_on_one_line(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text("hub: [\n")
    assert_usage_error(run("--values", str(values), str(tmp_path)), "cannot read")


@pytest.mark.parametrize("where", ["named", "in-folder"])
def test_a_dangling_symlink_is_checked_as_its_link_text(tmp_path, where):
    """GitHub serves a symlink's target path as its content; the hub parses it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".resources").symlink_to("../elsewhere/.resources")
    target = repo / ".resources" if where == "named" else repo
    result = run(str(target))
    assert result.returncode == 1, result
    assert "not found" not in result.stdout
    assert "`../elsewhere/.resources`: no '=' on this line" in result.stdout
    assert "is a symbolic link" in result.stderr


def test_a_symlink_to_a_valid_file_is_still_its_link_text(tmp_path):
    (tmp_path / "real").write_text("gpu=1\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".resources").symlink_to(tmp_path / "real")
    assert run(str(repo)).returncode == 1


def test_a_symlink_to_a_repository_folder_is_followed(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".resources").write_text("meml=32\n")
    (tmp_path / "link").symlink_to(repo)
    result = run(str(tmp_path / "link"))
    assert result.returncode == 0, result.stderr
    assert "memory limit    32 GB" in result.stdout


def test_a_folder_named_resources_is_a_usage_error(tmp_path):
    (tmp_path / ".resources").mkdir()
    assert_usage_error(run(str(tmp_path)), "a folder")


def raw_values(tmp_path: Path, url: str) -> Path:
    values = tmp_path / "values.yaml"
    values.write_text(
        "hub:\n  config:\n    RepoFileFetcher:\n      github_raw_urls:\n"
        f"        github.com: '{url}/{{repo}}/{{commit}}/{{path}}'\n"
    )
    return values


def test_an_oversized_file_is_invalid_local_or_fetched(tmp_path):
    """Over 64 KiB is the file's fault: exit 1 whether read or fetched."""
    big = b"# padding\n" * (MAX_BYTES // 10 + 1)
    (tmp_path / ".resources").write_bytes(big)
    local = run(str(tmp_path))
    with RawFileServer() as raw:
        raw.files["/o/r/main/.resources"] = big
        fetched = run("--values", str(raw_values(tmp_path, raw.url)), "gh/o/r/main")
        as_json = run(
            "--json", "--values", str(raw_values(tmp_path, raw.url)), "gh/o/r/main"
        )
    assert (local.returncode, fetched.returncode) == (1, 1), fetched.stderr
    for result in (local, fetched):
        assert "a .resources file may be at most 65536 bytes (64 KiB)" in (
            result.stdout
        )
        assert result.stderr == ""
    assert '"kind": "too-large"' in as_json.stdout


def test_a_file_name_the_locale_cannot_print_is_escaped(tmp_path):
    """A name with bytes that are not UTF-8, under a strict UTF-8 output."""
    folder = os.fsencode(tmp_path) + b"/repo\xff"
    os.mkdir(folder)
    with open(folder + b"/.resources", "wb") as handle:
        handle.write(b"cpu=1\n")
    result = subprocess.run(
        [sys.executable, "-m", "pyconfig", "check", folder],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8:strict"},
        timeout=30,
    )
    assert result.returncode == 1, result.stderr
    assert "repo\\udcff/.resources:1: `cpu=1`: unknown key" in result.stdout


def test_a_huge_bad_value_gives_a_short_message(tmp_path):
    values = tmp_path / "values.yaml"
    nested = "{a: " * 300 + "1" + "}" * 300
    values.write_text(
        f"hub:\n  config:\n    ResourcePolicy:\n      gpu_node_selector: {nested}\n"
    )
    result = run("--values", str(values), str(tmp_path))
    assert_usage_error(result, "gpu_node_selector")
    assert len(result.stderr) < 1100
