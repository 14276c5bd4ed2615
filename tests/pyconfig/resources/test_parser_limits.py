"""The parser's work is bounded by the file's size, whatever the file says.

A `.resources` file comes from any repository and is parsed in the hub, so a
crafted file must not cost more than a well-formed one of the same size.
Nothing here times the parser: the subprocess timeout is a hang guard far
above any real cost, and the other tests check structure (which text a
regular expression may see, how many problems and how long their messages).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pyconfig.resources import parser as resources_file
from pyconfig.resources.parser import MAX_BYTES, parse_collecting
from pyconfig.resources.problems import ResourcesError
from pyconfig.resources.schema import resource_keys
from tests.conftest import ROOT

#: Seconds a subprocess may run before it counts as hung; real runs take far less.
HANG_GUARD = 20


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )


def test_long_numbers_at_the_size_cap_finish():
    """`cpur=` and 65,531 digits once took 36 s (a backtracking regex)."""
    result = _run(
        """
        from pyconfig.resources.parser import MAX_BYTES, parse_collecting
        from pyconfig.resources.schema import resource_keys

        for key in resource_keys():
            head = f"{key}=".encode()
            for body in (b"1", b"1.", b"1,"):
                data = head + body * ((MAX_BYTES - len(head)) // len(body))
                _, problems = parse_collecting(data)
                assert len(problems) == 1, (key, body, problems)
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_a_one_megabyte_line_finishes():
    """Past the size cap too: each step is linear, not just small enough."""
    result = _run(
        """
        from pyconfig.resources.parser import parse_collecting

        size = 1 << 20
        for line in ("cpur=" + "1" * size, "cpur=1e" + "1" * size + "x",
                     "a" * size, "cpur " + " " * size + "2", "=" * size,
                     "cpur=" + "1." * size, "cpur=" + "9" * size + "GB"):
            _, problems = parse_collecting(line, max_bytes=8 * size)
            assert len(problems) == 1, problems
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


# Pieces a crafted line is built from: digits, signs, exponents, units,
# separators and keys, which the parser's checks each look for.
PIECES = st.sampled_from(
    [
        "1",
        "0",
        "9",
        ".",
        ",",
        "e",
        "E",
        "+",
        "-",
        "x",
        "0x",
        "GB",
        "m",
        "nan",
        " ",
        "\t",
        "=",
        ":",
        "#",
        "cpur",
        "meml",
        "gpu",
        "\x00",
        "\u00e9",
        "\r",
    ]
)
ADVERSARIAL_LINE = st.builds(
    "{}{}".format,
    st.sampled_from(["", *(f"{key}=" for key in resource_keys())]),
    st.builds(
        lambda pieces, repeat: "".join(pieces) * repeat,
        st.lists(PIECES, min_size=1, max_size=6),
        st.integers(min_value=1, max_value=3000),
    ),
)


class _Recording:
    """A compiled pattern that records the length of every text it is given."""

    def __init__(self, pattern: re.Pattern[str], seen: list[int]):
        self._pattern = pattern
        self._seen = seen

    def __getattr__(self, name: str):
        method = getattr(self._pattern, name)

        def recorded(text, *args, **kwargs):
            self._seen.append(len(text))
            return method(text, *args, **kwargs)

        return recorded


def _patterns() -> dict[str, re.Pattern[str]]:
    return {
        name: value
        for name, value in vars(resources_file).items()
        if isinstance(value, re.Pattern)
    }


def test_the_parser_calls_regexes_only_through_its_compiled_patterns():
    """So the recording test below sees every regex the parser runs."""
    source = Path(resources_file.__file__).read_text(encoding="utf-8")
    assert not re.search(r"\bre\.(?!compile\b|Pattern\b|DOTALL\b)\w+", source)
    assert _patterns()


@settings(max_examples=200, deadline=None)
@given(st.lists(ADVERSARIAL_LINE, min_size=1, max_size=4))
def test_no_regex_sees_more_than_a_short_text(lines):
    seen: list[int] = []
    originals = _patterns()
    try:
        for name, pattern in originals.items():
            setattr(resources_file, name, _Recording(pattern, seen))
        parse_collecting("\n".join(lines), max_bytes=1 << 20)
    finally:
        for name, pattern in originals.items():
            setattr(resources_file, name, pattern)
    assert max(seen, default=0) <= resources_file.MAX_REGEX_CHARS


@settings(max_examples=200, deadline=None)
@given(st.lists(ADVERSARIAL_LINE, min_size=1, max_size=8))
def test_problems_are_few_and_short_whatever_the_lines(lines):
    """At most two problems a line (a repeated key with a bad value), each
    quoting at most 60 characters of the line, so a report stays small."""
    data = "\n".join(lines)
    parsed, problems = parse_collecting(data, max_bytes=1 << 20)
    assert len(problems) <= 2 * len(lines)
    for problem in problems:
        assert len(problem.text) <= 60
        assert len(problem.message) <= 300, problem.message
    if len(data.encode("utf-8", "surrogatepass")) <= MAX_BYTES and problems:
        try:
            resources_file.parse(data)
        except ResourcesError as error:
            assert len(error.report()) <= 400 * (len(problems) + 1)
        else:
            raise AssertionError("problems found but parse() succeeded")
    assert set(parsed.values) <= set(resource_keys())


# --- the hub's parse lets the event loop run ----------------------------------

ERRORS_AT_THE_CAP = b"x\n" * (MAX_BYTES // 2)


def _slices(data: bytes) -> list[int]:
    """Lines handed to the line parser in each slice of parse_in_slices."""
    counts = [0]
    original = resources_file._parse_line

    def counted(*args):
        counts[-1] += 1
        return original(*args)

    resources_file._parse_line = counted
    try:
        steps = resources_file.parse_in_slices(data)
        while True:
            try:
                next(steps)
            except StopIteration:
                return counts
            counts.append(0)
    finally:
        resources_file._parse_line = original


def test_a_file_of_errors_is_parsed_in_small_slices():
    counts = _slices(ERRORS_AT_THE_CAP)
    assert sum(counts) == MAX_BYTES // 2
    assert max(counts) <= resources_file.SLICE_WORK
    assert len(counts) >= (MAX_BYTES // 2) // resources_file.SLICE_WORK


def test_a_long_line_counts_as_much_work_as_its_length():
    """One 64 KiB line then short error lines: the long line ends a slice."""
    data = b"cpur=" + b"1" * (MAX_BYTES // 2) + b"\n" + b"x\n" * 1000
    counts = _slices(data)
    assert counts[0] == 1


async def test_the_event_loop_runs_between_slices():
    """Another task gets a turn at least once a slice while the hub parses."""

    turns = 0
    done = asyncio.Event()

    async def other_task() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    result = await resources_file.parse_collecting_async(ERRORS_AT_THE_CAP)
    done.set()
    await task
    count = result.total
    assert count == MAX_BYTES // 2
    assert turns >= count // resources_file.SLICE_WORK


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=4096), st.lists(ADVERSARIAL_LINE, max_size=6)))
async def test_the_async_parse_is_the_same_parse(data):
    if isinstance(data, list):
        data = "\n".join(data)
    parsed, problems = parse_collecting(data)
    got = await resources_file.parse_collecting_async(data)
    assert got == (parsed, problems, len(problems))
    kept = await resources_file.parse_collecting_async(data, keep=2)
    assert kept == (parsed, problems[:2], len(problems))
