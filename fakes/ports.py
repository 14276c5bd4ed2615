"""Loopback ports handed to child processes, reserved across processes.

A port found free by binding to port 0 and closing is free only for a
moment: the kernel may give it to any outgoing connection (it comes from
the ephemeral range), and another test process on this machine may pick it
too, before the child that is to listen on it does. Either makes the child
fail with "address already in use". So ports come from below the kernel's
ephemeral range, where only listeners bind, and each is reserved with a
lock on a file named for it: every process using this module skips ports
another holds, and a lock ends with its process, however that ends.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
from pathlib import Path

#: Below Linux's default ephemeral range (32768-60999): no outgoing
#: connection takes these.
FIRST, LAST = 20000, 32767
_FOLDER = Path(tempfile.gettempdir()) / "persistent-binderhub-ports"
#: (address, port) -> the open lock file that reserves it for this process.
_held: dict[tuple[str, int], int] = {}


def bindable(ip: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def reserve(ip: str, port: int) -> bool:
    """Reserve ``port`` on ``ip`` for this process if nobody holds or uses it."""
    if (ip, port) in _held:
        return False
    _FOLDER.mkdir(exist_ok=True)
    fd = os.open(_FOLDER / f"{ip}_{port}", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    if not bindable(ip, port):
        os.close(fd)
        return False
    _held[(ip, port)] = fd
    return True


def release(ip: str, port: int) -> None:
    """Give a reservation back (a child that listened there has ended)."""
    fd = _held.pop((ip, port), None)
    if fd is not None:
        os.close(fd)


def free_port(ip: str = "127.0.0.1") -> int:
    """A port on ``ip`` reserved for a child process of this one to listen on."""
    for _ in range(LAST - FIRST):  # bounded: at worst every port once, on average
        port = random.randint(FIRST, LAST)
        if reserve(ip, port):
            return port
    raise RuntimeError(f"no free port on {ip} in {FIRST}-{LAST}")
