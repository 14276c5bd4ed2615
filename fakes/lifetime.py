"""Processes of the loopback service that end when whoever started them ends.

On a cluster a container's processes die with its pod. Here the hub,
BinderHub, the proxy, the culler and every notebook are processes started by
a test or by `make demo`, and a parent killed with SIGKILL runs no cleanup:
its children would live on. Linux's parent-death signal closes that gap.
``setpriv --pdeathsig KILL`` (util-linux) sets it and then runs the program
in its own place, so the program is killed as soon as the thread that
started it ends. The thread, not the process: start such children from a
thread that lives as long as they should (the main thread, or the kubelet's
spawner thread), never from a short-lived worker.

The rest is for the test suite's own check that nothing it started is left
running: the descendants of a process, read from /proc.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import time
from collections.abc import Iterable
from pathlib import Path

#: prctl(2) option: orphaned descendants are re-parented to this process.
PR_SET_CHILD_SUBREAPER = 36


def bound_to_parent(command: Iterable[str]) -> list[str]:
    """``command`` run so that it is SIGKILLed when its parent thread ends."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError(
            "setpriv (Debian package util-linux) is needed to tie the loopback "
            "service's processes to their parent; install util-linux"
        )
    return [setpriv, "--pdeathsig", "KILL", "--", *map(str, command)]


def become_subreaper() -> None:
    """Adopt every orphan among this process's descendants, so that a
    process whose parent died is still found among them (Linux only)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may hold spaces and parentheses.
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    return state, int(ppid)


def descendants(root: int | None = None) -> set[int]:
    """Living descendants of ``root`` (default: this process); zombies,
    which are dead and only wait to be reaped, are left out."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    states: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        found = _stat(int(entry.name))
        if found is not None:
            states[int(entry.name)] = found[0]
            children.setdefault(found[1], []).append(int(entry.name))
    found_all: set[int] = set()
    todo = [root]
    while todo:  # a tree: each pid has one parent, so this ends
        for child in children.get(todo.pop(), ()):
            if child not in found_all:
                found_all.add(child)
                todo.append(child)
    return {pid for pid in found_all if states.get(pid) != "Z"}


def alive(pids: Iterable[int]) -> set[int]:
    """Those of ``pids`` that still run (not gone, not a zombie)."""
    return {pid for pid in pids if (_stat(pid) or ("Z", 0))[0] != "Z"}


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "(gone)"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def wait_gone(pids: Iterable[int], timeout: float) -> set[int]:
    """Wait until none of ``pids`` runs, at most ``timeout`` s; those still
    running then."""
    pids = set(pids)
    deadline = time.monotonic() + timeout
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def reap_orphans() -> None:
    """Reap adopted orphans that have ended (a subreaper's zombies). Only at
    the end: reaping earlier could take the exit status of a child that a
    ``subprocess.Popen`` is still to wait for."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
