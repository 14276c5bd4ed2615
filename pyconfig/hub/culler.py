"""The idle culler's command, read back from the hub service z2jh builds
from ``cull.*`` (`python3 -m jupyterhub_idle_culler --timeout=...`): the
home page's countdown and `make diff`'s rows read it the same way."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: The module z2jh runs as the culler service.
CULLER = "jupyterhub_idle_culler"


def culler_command(service: Any) -> tuple[list[str], dict[str, str | bool]] | None:
    """A hub service's command if it runs the culler: how it is started (up
    to the module) and its options as written (``--timeout=60`` as
    ``"--timeout": "60"``, a bare ``--flag`` as True); else None."""
    command = service.get("command") if isinstance(service, dict) else None
    if not isinstance(command, list):
        return None
    command = [str(argument) for argument in command]
    if CULLER not in command:
        return None
    at = command.index(CULLER) + 1
    options: dict[str, str | bool] = {}
    for argument in command[at:]:
        option, sep, value = argument.partition("=")
        options[option] = value if sep else True
    return command[:at], options


def culler_timing(services: Iterable[Any] | None) -> tuple[int, int]:
    """The culler's (--timeout, --cull-every) in seconds; (0, 0) without one.

    The page must agree with when the culler really acts: it removes a
    server at its first check after last activity + timeout, and checks
    every --cull-every seconds. Missing options take the culler's own
    defaults (timeout 600, every timeout // 2), as its main() does; it
    reads ``--cull_every`` as ``--cull-every``.
    """
    for service in services or []:
        found = culler_command(service)
        if found is None:
            continue
        options = {
            name.removeprefix("--").replace("_", "-"): value
            for name, value in found[1].items()
            if isinstance(value, str)
        }
        timeout = int(options.get("timeout", 600))
        every = int(options.get("cull-every", 0)) or timeout // 2
        return timeout, every
    return 0, 0
