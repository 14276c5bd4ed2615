"""Run the command line: ``python -m pyconfig check``."""

from .admin.cli import main

raise SystemExit(main(prog="python -m pyconfig"))
