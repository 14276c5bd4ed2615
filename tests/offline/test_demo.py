"""`make demo` starts BinderHub, the hub and real notebooks, sends a visitor
to the login, and stops cleanly on Ctrl-C or SIGTERM whatever it inherited:
no process and no temporary folder left; killed, no process left."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from fakes import lifetime
from fakes.lifetime import bound_to_parent
from offline.login import log_in_http
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


#: The line that says where the demo's logs are.
LOGS = re.compile(r"^Logs: the hub's (\S+), BinderHub's (\S+), ", re.M)


def demo_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("persistent-binderhub-demo-*"))


#: Starts the rest of its command line as a background job of a script
#: starts (SIGINT ignored), and worse: SIGTERM and SIGHUP ignored too, all
#: three blocked. Dispositions and the mask survive exec; the demo must set
#: its own.
HOSTILE_INHERITANCE = """
import os, signal, sys
stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
for number in stops:
    signal.signal(number, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, stops)
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""

#: A program of each kind the demo starts, and how many (the hub, its proxy
#: and culler, BinderHub, the user demo's two notebooks).
STARTED = {
    "jupyterhub": 1,
    "configurable-http-proxy": 1,
    "jupyterhub_idle_culler": 1,
    "binderhub": 1,
    "jupyterhub-singleuser": 2,
}


def programs(pids: set[int]) -> dict[str, int]:
    """How many of ``pids`` run each program of STARTED."""
    counts = dict.fromkeys(STARTED, 0)
    for pid in pids:
        argv = lifetime.command_line(pid).split()
        for program in STARTED:
            if any(Path(arg).name == program for arg in argv[:3]):
                counts[program] += 1
    return counts


def first_line(path: Path, prefix: str, process: subprocess.Popen) -> str:
    """The first line of ``path`` that starts with ``prefix``, once the
    process has written it (at most 3 minutes: a hub, BinderHub and two
    launches on a loaded machine)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        for line in path.read_text().splitlines():
            if line.startswith(prefix):
                return line
        time.sleep(0.3)
    raise AssertionError(f"no line {prefix!r}; the demo said:\n{path.read_text()}")


@pytest.mark.parametrize(
    "stop",
    [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
    ids=["ctrl-c", "term", "kill"],
)
def test_demo_serves_the_hub_and_stops_leaving_nothing(stop, tmp_path):
    """Started with the stop signals ignored and blocked, the demo still
    stops on Ctrl-C or SIGTERM, every process and its folder; killed, it
    takes every process it started with it. Its output goes to files, so no
    pipe fills while nobody reads it."""
    before = demo_folders()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    command = [sys.executable, "-c", HOSTILE_INHERITANCE, "-m", "offline.demo"]
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            bound_to_parent([*command, "--seconds", "600"]),
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
    started: set[int] = set()
    try:
        first = first_line(out, "Persistent BinderHub demo at ", process)
        url = first.split(" at ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:"), first
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert "Sign in" in response.read().decode()
            hub_url = response.url.split("/hub/", 1)[0]
        # Any name logs in through the demo's OpenID Connect provider.
        opener = log_in_http(hub_url, "visitor")
        with opener.open(f"{hub_url}/hub/home", timeout=30) as home:
            assert "visitor" in home.read().decode()
        [folder] = demo_folders() - before
        started = lifetime.descendants(process.pid)
        assert programs(started) == STARTED
        process.send_signal(stop)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert lifetime.wait_gone(started, 30) == set(), [
        lifetime.command_line(pid) for pid in lifetime.alive(started)
    ]
    if stop == signal.SIGKILL:  # nothing could remove it
        shutil.rmtree(folder)
        return
    said = out.read_text()
    assert process.returncode == 0, said + err.read_text()
    assert "Stopping the demo: BinderHub, the hub and the notebooks." in said
    logs = LOGS.search(said)
    assert logs and all(folder in Path(p).parents for p in logs.groups()), said
    assert "Stopped in " in said
    assert not folder.exists()


def test_logs_are_kept_where_asked(tmp_path):
    """With --logs DIR, the hub's and BinderHub's logs are there after the
    demo stopped (here by itself, after --seconds), as it said."""
    kept = tmp_path / "logs"
    result = subprocess.run(
        bound_to_parent(
            [
                sys.executable,
                "-m",
                "offline.demo",
                "--seconds",
                "1",
                "--logs",
                str(kept),
            ]
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    logs = LOGS.search(result.stdout)
    assert logs, result.stdout
    for path in map(Path, logs.groups()):
        assert kept in path.parents and path.stat().st_size > 0, path
    assert result.stdout.endswith(f"Logs kept in {kept}.\n")
