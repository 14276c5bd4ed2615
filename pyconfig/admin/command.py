"""The ``pyconfig`` command's entry point: a dependency that is not installed
is one line naming it, not a traceback."""

from __future__ import annotations

import sys

#: The wheel's dependencies, by the name they are imported as.
DEPENDENCIES = {
    "jsonschema": "jsonschema",
    "traitlets": "traitlets",
    "yaml": "pyyaml",
    "tornado": "tornado",
}


def main(argv: list[str] | None = None, prog: str = "pyconfig") -> int:
    try:
        from .cli import main as run

        return run(argv, prog=prog)
    except ModuleNotFoundError as error:
        top = (error.name or "").split(".")[0]
        if top not in DEPENDENCIES:
            raise
        print(
            f"error: {prog} needs the Python package {DEPENDENCIES[top]}, which is "
            f"not installed here: pip install {DEPENDENCIES[top]} (installing the "
            "pyconfig wheel brings all it needs)",
            file=sys.stderr,
        )
        return 2
