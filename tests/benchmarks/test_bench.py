"""`make bench` keeps working: each benchmark runs in its quick mode and prints
its figures (the figures of a quick run mean nothing; nothing here times)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # runs every benchmark in its own process


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("bench.py", "files/s"),
        ("bench_hook.py", "Kubernetes API calls"),
        ("bench_chart.py", "all values files:"),
        ("bench_cluster.py", "hub CPU per launch"),
        ("bench_storm.py", "quota race, 10 launches at once"),
    ],
)
def test_benchmark_runs(script, expected):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout
