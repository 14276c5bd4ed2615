"""Run KubeSpawner 7.0.0's own test suite against the loopback cluster.

The conformance check of fakes/kube_api.py and fakes/kubelet.py: the suite
the spawner's authors run against a real cluster, unchanged, with our pytest
plugin (ci/peer_kubespawner_plugin.py) supplying the cluster. Its tests
come from the public repository at the tag when it is reachable, else from a
local export of it (``--fallback``, ``PEER_TESTS`` in the Makefile). Tests in
ci/kubespawner-excluded.txt are deselected, each with its reason.
Prints the counts; exits non-zero when a test fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "https://github.com/jupyterhub/kubespawner"
TAG = "7.0.0"
EXCLUDED = ROOT / "ci" / "kubespawner-excluded.txt"
#: Where a clone of the public repository goes.
CLONE = ROOT / "build" / f"kubespawner-{TAG}"


def exclusions(path: Path = EXCLUDED) -> dict[str, str]:
    """node id -> reason, from the exclusion file (``id | reason`` lines)."""
    found = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        node, sep, reason = line.partition(" | ")
        if not sep or not reason.strip():
            raise ValueError(f"{path}: no reason given for {line.strip()!r}")
        found[node.strip()] = reason.strip()
    return found


def suite(fallback: Path, timeout: float = 30) -> Path:
    """The suite's folder: a fresh shallow clone of the tag, else ``fallback``."""
    shutil.rmtree(CLONE, ignore_errors=True)
    try:
        subprocess.run(
            [
                "git",
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--branch",
                TAG,
                REPOSITORY,
                str(CLONE),
            ],
            check=True,
            timeout=timeout,
            capture_output=True,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        print(f"peer suite: {REPOSITORY} at {TAG}")
        return CLONE
    except (subprocess.SubprocessError, OSError):
        shutil.rmtree(CLONE, ignore_errors=True)
    if not (fallback / "tests" / "conftest.py").is_file():
        raise SystemExit(f"peer suite: not reachable, and no tests in {fallback}")
    print(f"peer suite: {REPOSITORY} not reachable; the export in {fallback}")
    return fallback.resolve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="the suite's virtualenv")
    parser.add_argument("--fallback", type=Path, required=True)
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        # The hub pod reads its config from the pod's own /etc, which the
        # loopback node lays out in a mount namespace: root only (CI is).
        print(
            f"peer suite (kubespawner {TAG}): NOT RUN: the loopback node runs "
            "pods in mount namespaces, which needs root (CI runs as root)"
        )
        return 0
    where = suite(args.fallback)
    excluded = exclusions()
    command = [
        str(Path(args.python).absolute()),
        "-m",
        "pytest",
        "-p",
        "ci.peer_kubespawner_plugin",
        "-p",
        "no:cacheprovider",  # writes nothing into the suite's folder
        "--rootdir",
        str(where),
        "-c",
        str(where / "pyproject.toml"),
        "-o",
        "addopts=",
        "-q",
        "-rfE",
        "--color=no",
        *(f"--deselect=tests/{node}" for node in excluded),
        *args.pytest_args,
        "tests",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PEER_CLUSTER_PYTHON": sys.executable,
    }
    run = subprocess.run(command, cwd=where, env=env, text=True, capture_output=True)
    sys.stdout.write(run.stdout[-20000:])
    sys.stderr.write(run.stderr[-5000:])
    counts = dict(
        (word, int(number))
        for number, word in re.findall(
            r"(\d+) (passed|failed|error|deselected)", run.stdout
        )
    )
    print(
        f"peer suite (kubespawner {TAG}): {counts.get('passed', 0)} passed, "
        f"{counts.get('failed', 0) + counts.get('error', 0)} failed, "
        f"{len(excluded)} excluded (ci/kubespawner-excluded.txt)"
    )
    if counts.get("deselected", 0) != len(excluded):  # pytest ignores unknown ids
        print(
            f"peer suite: {len(excluded)} tests excluded but "
            f"{counts.get('deselected', 0)} deselected: an entry of "
            f"{EXCLUDED.name} names no test of the suite"
        )
        return 1
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
