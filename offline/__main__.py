"""Run an admin's offline commands: ``python -m offline preview|diff``."""

from offline.cli import main

raise SystemExit(main())
