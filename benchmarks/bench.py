"""Benchmark: parse + validate + map one `.resources` file, on one core.

Prints median and p99 latency in microseconds and files per second for a
typical file and for 64 KiB worst cases. Target: 20,000 typical files/s.
"values new" clears the memoized schema verdicts before each file, the cost
of a file whose amounts the process has not seen yet.

Then the worst files an attacker can write (long numbers, one 64 KiB line,
64 KiB of errors): milliseconds per parse, median and max, and the worst of
all, since in the hub a parse holds the event loop or the GIL that long.
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

from pyconfig.hub.resources_cache import KEPT_PROBLEMS
from pyconfig.resources.effective import evaluate
from pyconfig.resources.kubespawner_settings import kubespawner_settings
from pyconfig.resources.parser import MAX_BYTES, parse_in_slices
from pyconfig.resources.policy import ResourcePolicy
from pyconfig.resources.problems import ResourcesError
from pyconfig.resources.schema import first_error

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


def _fill(head: bytes, body: bytes) -> bytes:
    """``head`` then ``body`` repeated: one line of exactly MAX_BYTES."""
    data = head + body * ((MAX_BYTES - len(head)) // len(body) + 1)
    return data[:MAX_BYTES]


def adversarial() -> dict[str, bytes]:
    """The costliest 64 KiB files we know of, each at the size cap."""
    return {
        "cpur= 65531 digits": _fill(b"cpur=", b"1"),
        "gpu= 1.1.1.1...": _fill(b"gpu=", b"1."),
        "meml= 1,1,1,...": _fill(b"meml=", b"1,"),
        "cpur=1e 999...x": _fill(b"cpur=1e", b"9")[:-1] + b"x",
        "cpur=0x fff...": _fill(b"cpur=0x", b"f"),
        "one line of 'a'": _fill(b"", b"a"),
        "cpur<spaces>2": _fill(b"cpur", b" ")[:-1] + b"2",
        "one line of '='": _fill(b"", b"="),
        "long comment": _fill(b"cpur=2 #", b"x"),
        "long unknown key": _fill(b"", b"cpux")[:-2] + b"=1",
        "errors: 'x' lines": _fill(b"", b"x\n"),
        "errors: '=' lines": _fill(b"", b"=\n"),
        "errors: 'cpu=2'": _fill(b"", b"cpu=2\n"),
        "errors: 'gpu=.5'": _fill(b"", b"gpu=.5\n"),
        "errors: 'cpur: 2'": _fill(b"", b"cpur: 2\n"),
        "errors: duplicates": _fill(b"", b"cpur=2\n"),
        "errors: bad UTF-8": _fill(b"", b"\xff\n"),
        "blank lines": b"\n" * MAX_BYTES,
    }


def sliced(data: bytes) -> list[float]:
    """One parse as the hub runs it: the ms of each slice.

    The hub's parse (parse_collecting_async, keeping the problems the hub
    keeps) gives the event loop a turn between slices, so a slice is how
    long the loop is held.
    """
    clock = time.perf_counter_ns
    steps = parse_in_slices(data, keep=KEPT_PROBLEMS)
    slices = []
    while True:
        start = clock()
        try:
            next(steps)
        except StopIteration:
            slices.append((clock() - start) / 1e6)
            return slices
        slices.append((clock() - start) / 1e6)


def worst_cases(runs: int) -> tuple[float, float]:
    """Print ms per parse of each adversarial file, and the longest slice;
    return the worst of each, in ms."""
    worst = worst_slice = 0.0
    for name, data in adversarial().items():
        runs_slices = [sliced(data) for _ in range(runs)]
        parses = [sum(slices) for slices in runs_slices]
        slices = [took for run in runs_slices for took in run]
        worst = max(worst, *parses)
        worst_slice = max(worst_slice, *slices)
        print(
            f"{name:<22} {len(data):>6} B  median {statistics.median(parses):>7.2f} "
            f"ms  max {max(parses):>7.2f} ms  slices: median "
            f"{statistics.median(slices):>5.2f} ms, max {max(slices):>5.2f} ms"
        )
    return worst, worst_slice


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
    print("worst cases, parse only as the hub parses, ms per parse:")
    worst, worst_slice = worst_cases(max(20 // SCALE, 2))
    print(f"worst case: {worst:.2f} ms for one {MAX_BYTES} B file (max of all)")
    print(f"event loop held at most {worst_slice:.2f} ms (longest slice of all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
