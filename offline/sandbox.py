"""Where a values file's own hub Python runs, when an admin asks for it.

``diff`` and ``preview`` run none of it by default (values_code.py). With
``--run-extra-config`` the same command runs again in a child process that
gets nothing of the admin's environment: no KUBECONFIG, no cloud or Git
credentials in variables, a HOME and working directory that are new empty
folders removed afterwards, and only ``/usr/bin:/bin`` on PATH. The child
runs the snippets (and the values' mounts where the hub loads code) as the
hub would.

What it can still reach: it runs as the admin's user, so any file that user
may read or write by its absolute path (``~/.kube/config`` under its real
path, for one), the network, and other processes of that user. Run it where
that is acceptable: a container or a user of its own for values you do not
trust.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TextIO

#: Set in the child's environment: there, values code may run.
SANDBOXED = "PYCONFIG_VALUES_CODE_SANDBOX"
OPTION = "--run-extra-config"
_CHILD_PATH = "/usr/bin:/bin"


def inside() -> bool:
    """Whether this process is the child of ``run_in_child``."""
    return os.environ.get(SANDBOXED) == "1"


def run_in_child(
    argv: list[str], out: TextIO, stdin: TextIO | None = None, timeout: float = 900
) -> int:
    """Run ``python -m offline ARGV`` in the child; its output becomes ours.

    File arguments in ``argv`` must be absolute (the child starts elsewhere);
    ``stdin`` is read here and handed over whole (diff's "-")."""
    clone = Path(__file__).resolve().parents[1]
    given = stdin.read() if stdin is not None else None
    with tempfile.TemporaryDirectory(prefix="pyconfig-sandbox-") as home:
        env = {
            "PATH": _CHILD_PATH,
            "HOME": home,
            "PYTHONPATH": str(clone),
            "LANG": "C.UTF-8",
            SANDBOXED: "1",
        }
        try:
            child = subprocess.run(
                [sys.executable, "-m", "offline", *argv],
                cwd=home,
                env=env,
                input=given,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            print(f"error: {OPTION}: over {timeout:.0f} s", file=sys.stderr)
            return 2
    out.write(child.stdout)
    sys.stderr.write(child.stderr)
    return child.returncode
