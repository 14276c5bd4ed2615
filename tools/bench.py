"""Benchmark: parse + validate + map one `.resources` file, on one core.

Prints median and p99 latency in microseconds and files per second for a
typical file and for 64 KiB worst cases. Target: 20,000 typical files/s.
"values new" clears the memoized schema verdicts before each file, the cost
of a file whose amounts the process has not seen yet.
Figures only; nothing here asserts a time.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from pyconfig.effective import evaluate
from pyconfig.policy import ResourcePolicy
from pyconfig.problems import ResourcesError
from pyconfig.profile import kubespawner_settings
from pyconfig.resources_file import MAX_BYTES
from pyconfig.schema import first_error

TARGET_PER_SECOND = 20_000
#: --quick: a smoke run (tests use it); figures from it mean nothing.
SCALE = 100 if "--quick" in sys.argv else 1

TYPICAL = (
    b"# This file is for resource requests in CERIT-SC\n"
    b"# Do not change\n"
    b"gpu=1\n"
    b"cpur=2\n"
    b"cpul=4   # at most four cores\n"
    b"memr=4\n"
    b"meml=8\n"
)


def _pad(head: bytes, line: bytes) -> bytes:
    body = head + line * ((MAX_BYTES - len(head)) // len(line))
    return body + b"#" * (MAX_BYTES - len(body))


# Valid, at the size cap: the keys, then comment lines to 64 KiB.
WORST_VALID = _pad(TYPICAL, b"# a comment line of a realistic length ......\n")
# Invalid, at the size cap: every line an unknown key (the costliest error,
# since it looks for the nearest valid key).
WORST_INVALID = _pad(b"", b"cpu=2\n")


def one_file(data: bytes, policy: ResourcePolicy) -> None:
    with contextlib.suppress(ResourcesError):
        kubespawner_settings(evaluate(data, policy), policy)


def measure(
    name: str, data: bytes, runs: int, policy: ResourcePolicy, cold: bool = False
) -> float:
    """Time ``runs`` checks of ``data``; ``cold`` forgets memoized verdicts first."""
    for _ in range(min(runs, 200)):  # warm caches, as a running hub has them
        one_file(data, policy)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(runs):
        if cold:
            first_error.cache_clear()
        start = clock()
        one_file(data, policy)
        samples.append(clock() - start)
    samples.sort()
    median = statistics.median(samples) / 1000
    p99 = samples[int(len(samples) * 0.99) - 1] / 1000
    per_second = runs / (sum(samples) / 1e9)
    print(
        f"{name:<22} {len(data):>6} B  median {median:>9.1f} us  "
        f"p99 {p99:>9.1f} us  {per_second:>9,.0f} files/s"
    )
    return per_second


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    policy = ResourcePolicy()
    print(f"python {sys.version.split()[0]}, one core, parse+validate+map per file")
    typical = measure("typical (7 lines)", TYPICAL, 20_000 // SCALE, policy)
    measure("typical, values new", TYPICAL, 20_000 // SCALE, policy, cold=True)
    measure("64 KiB valid", WORST_VALID, max(300 // SCALE, 3), policy)
    measure("64 KiB all errors", WORST_INVALID, max(100 // SCALE, 3), policy)
    verdict = "meets" if typical >= TARGET_PER_SECOND else "MISSES"
    print(f"typical: {typical:,.0f} files/s {verdict} the {TARGET_PER_SECOND:,} target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
