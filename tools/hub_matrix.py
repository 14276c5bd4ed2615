"""The lock for a virtualenv with another hub image's packages (make test-matrix).

``requirements/constraints.txt`` pins every package of ``.venv``, the hub
packages at z2jh 4.2.0's versions among them. A virtualenv for another hub
image installs ``requirements/dev-tools.txt`` with that image's hub file
(``requirements/hub-z2jh-4.4.0.txt``) under this lock, less the pins that
hub file sets to another version (pip would refuse both). Everything else
stays at the version the suite was run with.

    python tools/hub_matrix.py HUB_FILE [LOCK]   # the lock, on stdout

Standard library only: it runs before any virtualenv exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "constraints.txt"
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s#;]+)")


def _name(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """Normalized name -> version of each ``name==version`` line."""
    found = {}
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            found[_name(match[1])] = match[2]
    return found


def lock_for(hub: str, lock: str) -> str:
    """``lock`` without the lines that pin a package of ``hub`` differently."""
    wanted = pins(hub)
    kept = []
    for line in lock.splitlines():
        match = PIN.match(line)
        if match and wanted.get(_name(match[1]), match[2]) != match[2]:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python tools/hub_matrix.py HUB_FILE [LOCK]", file=sys.stderr)
        return 2
    lock = Path(argv[1]) if len(argv) == 2 else LOCK
    sys.stdout.write(lock_for(Path(argv[0]).read_text(), lock.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
