"""Run the command line: ``python -m pyconfig check``."""

from .admin.command import main

raise SystemExit(main(prog="python -m pyconfig"))
