"""Install the BinderHub app at the pinned commit into a virtualenv (`make setup`).

    python -m tools.binderhub_app VENV [--wheels DIR]

PyPI's binderhub is a 2018 release, so the app the binder image runs comes
from its public git repository at the commit the pinned binderhub chart was
built from. Where that repository cannot be reached, it comes from a folder
of wheels (``--wheels``, default ``../shared/wheels`` beside this project)
holding the wheel of that same commit, as ``make deps`` falls back to a copy
of the chart repository. Either way pip installs it with its ``pycurl``
extra, constrained to the binder image's pins (requirements/binderhub.txt).
Standard library only: it runs before any virtualenv of ours exists.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "https://github.com/jupyterhub/binderhub"
#: The commit of the binder image in the pinned binderhub chart, and the
#: version its wheel carries (the commit after the ``+g``).
COMMIT = "b9fad995"
VERSION = f"0.2.0.post2227+g{COMMIT}"
CONSTRAINTS = ROOT / "requirements" / "binderhub.txt"
DEFAULT_WHEELS = ROOT.parent / "shared" / "wheels"
#: How long one pip install may take (a build from git runs BinderHub's
#: JavaScript build too).
TIMEOUT = 1200


class AppError(RuntimeError):
    """The app cannot be installed; the message says why, in one line."""


def pinned_wheel(folder: Path) -> Path:
    """The wheel of the pinned commit in ``folder``, or AppError naming what
    the folder holds instead."""
    if not folder.is_dir():
        raise AppError(f"no wheel folder {folder}")
    found = sorted(folder.glob("binderhub-*.whl"))
    for wheel in found:
        if wheel.name.split("-")[1] == VERSION:
            return wheel
    held = ", ".join(w.name for w in found) or "no binderhub wheel"
    raise AppError(f"{folder} has {held}, not binderhub {VERSION}")


def pip_install(venv: Path, requirement: str) -> str:
    """Install ``requirement`` into ``venv``; pip's last error line if it fails."""
    command = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        requirement,
        "-c",
        str(CONSTRAINTS),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"no answer in {TIMEOUT} s"
    if done.returncode == 0:
        return ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"pip exited {done.returncode}"


def install(venv: Path, wheels: Path, repository: str = REPOSITORY) -> str:
    """Install the app from ``repository`` at COMMIT, else from the pinned
    wheel in ``wheels``; say which. AppError when neither works."""
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--upgrade",
                "pip",
            ],
            check=True,
        )
    source = f"binderhub[pycurl] @ git+{repository}@{COMMIT}"
    failed = pip_install(venv, source)
    if not failed:
        return f"BinderHub {COMMIT} from {repository}"
    try:
        wheel = pinned_wheel(wheels)
    except AppError as error:
        raise AppError(f"{repository}: {failed}; {error}") from None
    if problem := pip_install(venv, f"{wheel}[pycurl]"):
        raise AppError(f"{wheel}: {problem}")
    return f"BinderHub {COMMIT} from {wheel} ({repository}: {failed})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.binderhub_app")
    parser.add_argument("venv", type=Path, help="the virtualenv to install into")
    parser.add_argument(
        "--wheels",
        type=Path,
        default=DEFAULT_WHEELS,
        help=f"a folder with the wheel of the pinned commit (default {DEFAULT_WHEELS})",
    )
    parser.add_argument("--repository", default=REPOSITORY, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        print(install(args.venv, args.wheels, args.repository))
    except AppError as error:
        print(f"error: BinderHub app: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
