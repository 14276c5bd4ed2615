"""`make demo` starts BinderHub, the hub and real notebooks, sends a visitor
to the login, and stops cleanly on Ctrl-C or SIGTERM: no process and no
temporary folder left."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT
from .hub_process.login import log_in_http

pytestmark = pytest.mark.slow


def demo_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("persistent-binderhub-demo-*"))


def processes_under(folder: Path, program: str = "") -> list[int]:
    """Processes whose command line names ``folder``, and an argument that
    ends with ``program`` (the program, or a module run with -m)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        argv = command.split(b"\0")
        if str(folder).encode() in command and any(
            arg.endswith(program.encode()) for arg in argv
        ):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    "stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"]
)
def test_demo_serves_the_hub_and_stops_leaving_nothing(stop):
    before = demo_folders()
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.demo", "--seconds", "180"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = process.stdout.readline()
        assert first.startswith("Persistent BinderHub demo at http://127.0.0.1:"), first
        url = first.split(" at ", 1)[1].strip()
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert "Sign in" in response.read().decode()
            hub_url = response.url.split("/hub/", 1)[0]
        # Any name logs in through the demo's OpenID Connect provider.
        opener = log_in_http(hub_url, "visitor")
        with opener.open(f"{hub_url}/hub/home", timeout=30) as home:
            assert "visitor" in home.read().decode()
        [folder] = demo_folders() - before
        # The two example notebooks, and BinderHub.
        assert len(processes_under(folder, "jupyterhub-singleuser")) == 2
        assert len(processes_under(folder, "binderhub")) == 1
        process.send_signal(stop)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Stopping the demo hub." in out
    assert not folder.exists()
    assert processes_under(folder) == []
