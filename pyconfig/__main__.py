"""Run the command line: ``python -m pyconfig check``."""

from .cli import main

raise SystemExit(main())
