"""fakes/ports.py: a port reserved by one process is not handed out by
another, until the first one ends; and none comes from the range the kernel
gives outgoing connections."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fakes import ports
from tests.conftest import ROOT


def test_a_port_another_process_holds_is_not_handed_out_until_it_ends():
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from fakes.ports import free_port; "
            "print(free_port(), flush=True); sys.stdin.read()",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(holder.stdout.readline())
        assert ports.FIRST <= port <= ports.LAST
        assert ports.bindable("127.0.0.1", port)  # free, yet reserved
        assert not ports.reserve("127.0.0.1", port)
    finally:
        holder.communicate("")  # it ends: its lock with it
    assert ports.reserve("127.0.0.1", port)
    ports.release("127.0.0.1", port)


def test_free_ports_stay_below_the_ephemeral_range_and_differ():
    first = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]
    handed = [ports.free_port() for _ in range(50)]
    try:
        assert len(set(handed)) == len(handed)
        assert all(p < int(first) for p in handed), (handed, first)
    finally:
        for port in handed:
            ports.release("127.0.0.1", port)
