"""`make demo` starts, serves the login page, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request

from .conftest import ROOT


def test_demo_serves_the_hub_and_stops_on_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.demo", "--seconds", "120"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = process.stdout.readline()
        assert first.startswith("Persistent BinderHub demo at http://127.0.0.1:"), first
        url = first.split(" at ", 1)[1].strip()
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert "Sign in" in response.read().decode()
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Stopping the demo hub." in out
