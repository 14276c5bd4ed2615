"""Parse the `.resources` file a repository author writes.

The format is deliberately tiny (``key=value`` lines, ``#`` comments) and the
parser is strict: a typo that silently fell back to a default would give a
researcher a notebook without the GPU they asked for, so every doubtful line
is an error with a fix, and all of them are reported together.
"""

from __future__ import annotations

import asyncio
import difflib
import math
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from .problems import Problem, ProblemKind, ResourcesError, shown
from .schema import first_error, integer_keys, key_schema, resource_keys

#: Larger files are refused before they are read line by line.
MAX_BYTES = 64 * 1024

Number = int | float

#: A plain number longer than this is not a resource amount anyone means.
_MAX_NUMBER_CHARS = 20
#: A value longer than this is refused as too long before any regex sees it.
_MAX_VALUE_CHARS = 40
#: A key longer than this is not a typo of a real key: no suggestions.
_MAX_KEY_CHARS = 32
#: Lines longer than this skip the one-regex fast path (the careful path
#: gives the same verdict, with plain string methods on the long parts).
_MAX_FAST_LINE_CHARS = 200
#: No regular expression of this module is applied to longer text. Each is
#: also free of nested or adjacent overlapping quantifiers, so its cost is
#: linear in that text; with this cap a line costs O(its length) in string
#: methods plus O(1) in regexes. tests/pyconfig/resources/test_parser_limits.py
#: checks both.
MAX_REGEX_CHARS = max(_MAX_FAST_LINE_CHARS, _MAX_VALUE_CHARS)

# The common case, a well-formed line with an optional comment, in one match.
_GOOD_LINE = re.compile(
    r"\s*([a-z]+)\s*=\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:#.*)?\Z", re.DOTALL
)
_PLAIN = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
# Not ``[0-9]+\.?[0-9]*``: with the dot optional the two digit runs overlap
# and a long run of digits backtracks quadratically.
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+\Z")
_HEX = re.compile(r"[+-]?0[xXoObB][0-9a-fA-F_]*\Z")
_WITH_UNIT = re.compile(r"((?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+))\s*([A-Za-z]+)\Z")
_COMMA_DECIMAL = re.compile(r"[0-9]+,[0-9]+\Z")
_SPECIAL = frozenset({"nan", "inf", "infinity"})
_NUMBER_CHARS = "0123456789.,"

# Words authors reach for, and the keys they mean.
_HINTS = {
    "cpu": ("cpur", "cpul"),
    "cpus": ("cpur", "cpul"),
    "core": ("cpur", "cpul"),
    "cores": ("cpur", "cpul"),
    "mem": ("memr", "meml"),
    "memory": ("memr", "meml"),
    "ram": ("memr", "meml"),
    "gpus": ("gpu",),
    "nvidia.com/gpu": ("gpu",),
}


@dataclass(frozen=True)
class ResourcesFile:
    """The values a file sets, each with the line that set it."""

    values: dict[str, Number] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def parse(data: bytes | str, source: str = ".resources") -> ResourcesFile:
    """Parse a file; raise :class:`ResourcesError` listing every problem."""
    parsed, problems = parse_collecting(data)
    if problems:
        raise ResourcesError(problems, source)
    return parsed


Parsed = tuple[ResourcesFile, list[Problem]]

#: Work between two pauses of :func:`parse_in_slices`: one unit a line plus
#: one a 64 characters. A slice is then at most 128 short lines (each a
#: problem at worst, ~3 us) or one 64 KiB line (linear, <1 ms): under a
#: millisecond of work, so the event loop is never held longer than a few.
SLICE_WORK = 128
_CHARS_PER_UNIT = 64


class Sliced(NamedTuple):
    """A parse's result when only the first problems were kept."""

    parsed: ResourcesFile
    problems: list[Problem]
    total: int  # problems found, kept or not


def parse_collecting(data: bytes | str, max_bytes: int = MAX_BYTES) -> Parsed:
    """Parse what can be parsed and collect the problems of the rest.

    Callers that add their own checks (effective resources) use this so a
    file's problems are all reported in one go. ``max_bytes`` is raised only
    by tests and benchmarks that probe how the cost grows past the cap.
    """
    steps = parse_in_slices(data, max_bytes=max_bytes)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value.parsed, done.value.problems


async def parse_collecting_async(data: bytes | str, keep: int | None = None) -> Sliced:
    """:func:`parse_collecting` for the hub, keeping the first ``keep`` problems.

    It lets the event loop run between slices, so a 64 KiB file of errors
    (~100 ms of work) never holds the loop for more than one slice; and it
    drops the problems past ``keep`` as it goes (the hub shows 20), so tens
    of thousands of them never live at once to set off garbage collections.
    """
    steps = parse_in_slices(data, keep=keep)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
        await asyncio.sleep(0)


def parse_in_slices(
    data: bytes | str, max_bytes: int = MAX_BYTES, keep: int | None = None
) -> Generator[None, None, Sliced]:
    """The parse, pausing (``yield``) after each :data:`SLICE_WORK` units of
    work; it returns the result with the first ``keep`` problems (all if
    None) and their total."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        return Sliced(ResourcesFile(), [_too_large(len(raw))], 1)
    parsed = ResourcesFile()
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    work = dropped = 0
    for number, line in _decoded_lines(raw, problems):
        # Blank and comment lines are skipped here, without a call: a file
        # of 65,536 of them is the costliest valid file.
        start = line.lstrip()[:1] if line is not None else ""
        if start and start != "#":
            _parse_line(number, line, parsed, seen, problems)
        if keep is not None and len(problems) > keep:
            dropped += len(problems) - keep
            del problems[keep:]
        work += 1 + len(line or "") // _CHARS_PER_UNIT
        if work >= SLICE_WORK:
            work = 0
            yield
    return Sliced(parsed, problems, len(problems) + dropped)


def _too_large(size: int) -> Problem:
    return Problem(
        ProblemKind.TOO_LARGE,
        None,
        "",
        f"the file is {size} bytes; a .resources file may be at most "
        f"{MAX_BYTES} bytes (64 KiB): keep only the key=value lines and "
        "short comments",
    )


def _decoded_lines(
    raw: bytes, problems: list[Problem]
) -> Iterator[tuple[int, str | None]]:
    """Yield (line number, text) for each line; text is None for a line that
    is not UTF-8 (its problem is recorded), so the caller still counts it."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        for number, line in enumerate(text.split("\n"), start=1):
            yield number, line
        return
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            yield number, chunk.decode("utf-8")
        except UnicodeDecodeError as error:
            problems.append(
                Problem(
                    ProblemKind.NOT_UTF8,
                    number,
                    chunk.decode("utf-8", "backslashreplace"),
                    f"byte {error.start + 1} of this line is not UTF-8; save "
                    "the file as UTF-8 (plain ASCII is fine)",
                )
            )
            yield number, None


def _parse_line(
    number: int,
    line: str,
    parsed: ResourcesFile,
    seen: dict[str, int],
    problems: list[Problem],
) -> None:
    """Parse one non-blank line into ``parsed``; ``seen`` maps each key to its
    first line."""
    good = _GOOD_LINE.match(line) if len(line) <= _MAX_FAST_LINE_CHARS else None
    if good:
        key, value = good.groups()
        if (
            key in resource_keys()
            and key not in seen
            and len(value) <= _MAX_NUMBER_CHARS
        ):
            seen[key] = number
            amount: Number = float(value) if "." in value else int(value)
            if first_error(key, amount) is None:
                _store(parsed, key, amount, number)
                return
    _parse_line_slowly(number, line, parsed, seen, problems)


def _store(parsed: ResourcesFile, key: str, amount: Number, number: int) -> None:
    parsed.values[key] = int(amount) if key in integer_keys() else amount
    parsed.lines[key] = number


def _parse_line_slowly(
    number: int,
    line: str,
    parsed: ResourcesFile,
    seen: dict[str, int],
    problems: list[Problem],
) -> None:
    """Every check, with a message for each problem (also the fast path's misses)."""
    content = line.split("#", 1)[0].strip()
    if not content:
        return
    text = content  # Problem escapes it for printing
    if "=" not in content:
        problems.append(_missing_equals(number, content, text))
        return
    key, value = (part.strip() for part in content.split("=", 1))
    keys = resource_keys()
    if not key:
        problems.append(
            Problem(
                ProblemKind.MISSING_KEY,
                number,
                text,
                "nothing before '='; write one of "
                f"{', '.join(keys)} before it, e.g. cpur=2",
            )
        )
        return
    if key not in keys:
        problems.append(_bad_key(number, key, text))
        return
    duplicate = seen.get(key, number) != number
    if duplicate:
        problems.append(
            Problem(
                ProblemKind.DUPLICATE_KEY,
                number,
                text,
                f"{key} is already set on line {seen[key]}; keep only one of "
                "the two lines",
            )
        )
    seen.setdefault(key, number)
    # A repeated line's value is still checked, so one pass finds everything.
    amount = _number(number, key, value, text, problems)
    if amount is None:
        return
    schema_problem = _schema_problem(number, key, amount, text)
    if schema_problem is not None:
        problems.append(schema_problem)
        return
    if not duplicate:
        _store(parsed, key, amount, number)


def _missing_equals(number: int, content: str, text: str) -> Problem:
    meant = _key_and_value(content)
    if meant is not None:
        fix = f"write {meant[0]}={shown(meant[1])}"
    else:
        fix = "write key=value, e.g. cpur=2"
    return Problem(
        ProblemKind.MISSING_EQUALS, number, text, f"no '=' on this line; {fix}"
    )


def _key_and_value(content: str) -> tuple[str, str] | None:
    """``cpur 2`` or ``cpur: 2`` as (key, value), with string methods only
    (the line may be 64 KiB long)."""
    for key in resource_keys():
        if not content.startswith(key):
            continue
        rest = content[len(key) :]
        if not rest[:1].replace(":", " ").isspace():
            continue
        if rest[0] != ":" and not rest.lstrip().startswith(":"):
            return key, rest.lstrip()
        return key, rest.lstrip()[1:].lstrip()
    return None


def _bad_key(number: int, key: str, text: str) -> Problem:
    keys = resource_keys()
    if len(key) <= _MAX_KEY_CHARS and key.lower() in keys:
        return Problem(
            ProblemKind.WRONG_CASE,
            number,
            text,
            f"keys are lower case: write {key.lower()}, not {shown(key)}",
        )
    guesses = suggestions(key.lower()) if len(key) <= _MAX_KEY_CHARS else ()
    hint = f"did you mean {' or '.join(guesses)}? " if guesses else ""
    return Problem(
        ProblemKind.UNKNOWN_KEY,
        number,
        text,
        f"unknown key '{shown(key)}'; {hint}the keys are {', '.join(keys)}",
    )


@lru_cache(maxsize=256)
def suggestions(key: str) -> tuple[str, ...]:
    """Valid keys a mistyped key most likely meant, in schema order."""
    keys = resource_keys()
    found = set(_HINTS.get(key, ()))
    found.update(difflib.get_close_matches(key, keys, n=2, cutoff=0.6))
    found.update(k for k in keys if len(key) >= 2 and k.startswith(key))
    return tuple(k for k in keys if k in found)


def _number(
    number: int, key: str, value: str, text: str, problems: list[Problem]
) -> Number | None:
    """The value as a number, or None after recording why it is not one."""
    if len(value) <= _MAX_NUMBER_CHARS and _PLAIN.match(value):
        return float(value) if "." in value else int(value)
    kind, message = _why_not_a_number(key, value)
    problems.append(Problem(kind, number, text, message))
    return None


def _why_not_a_number(key: str, value: str) -> tuple[ProblemKind, str]:
    unit = key_schema(key).get("x-unit", "")
    if not value:
        return (
            ProblemKind.EMPTY_VALUE,
            f"{key} has no value; write a number after '=' (in {unit}), or "
            "delete the line to use the default",
        )
    if len(value) > _MAX_VALUE_CHARS:
        return ProblemKind.NOT_A_NUMBER, _too_long_message(value, unit)
    if value.startswith("-") and _PLAIN.match(value[1:]):
        smallest = _fmt(key_schema(key)["minimum"])
        least = "0 or more" if smallest == "0" else f"{smallest} or more"
        return (
            ProblemKind.NEGATIVE,
            f"{key} cannot be negative; write {least}, or delete the line to "
            "use the default",
        )
    if value.lstrip("+-").lower() in _SPECIAL:
        return (
            ProblemKind.NOT_PLAIN,
            f"'{shown(value)}' is not an amount; write a plain number such as 2",
        )
    if _HEX.match(value):
        return (
            ProblemKind.NOT_PLAIN,
            f"'{shown(value)}' is not a decimal number; write digits 0-9 only, e.g. 16",
        )
    if _EXPONENT.match(value):
        return ProblemKind.NOT_PLAIN, _exponent_message(value)
    with_unit = _WITH_UNIT.match(value)
    if with_unit:
        return ProblemKind.UNIT_GIVEN, _unit_message(key, *with_unit.groups(), value)
    if _COMMA_DECIMAL.match(value):
        return (
            ProblemKind.NOT_A_NUMBER,
            f"use a dot for decimals: write {value.replace(',', '.')}, not {value}",
        )
    if value.startswith("+") and _PLAIN.match(value[1:]):
        return (
            ProblemKind.NOT_A_NUMBER,
            f"write {value[1:]}, without the '+' sign",
        )
    if _PLAIN.match(value):
        return (
            ProblemKind.NOT_A_NUMBER,
            f"'{shown(value)}' has too many digits to be an amount of {unit}",
        )
    return (
        ProblemKind.NOT_A_NUMBER,
        f"'{shown(value)}' is not a number; write a plain number of {unit} "
        "such as 2 or 0.5",
    )


def _too_long_message(value: str, unit: str) -> str:
    """Why a long value is refused, decided without a regex."""
    if not value.strip(_NUMBER_CHARS):
        return f"'{shown(value)}' has too many digits to be an amount of {unit}"
    return (
        f"'{shown(value)}' is too long to be a number; write a plain number of "
        f"{unit} such as 2 or 0.5"
    )


def _fmt(amount: Number) -> str:
    """A bound as an author would write it: 0.001, not 1e-03."""
    return f"{amount:.12f}".rstrip("0").rstrip(".") if amount else "0"


def _exponent_message(value: str) -> str:
    amount = float(value)
    # Never "write 0" for 1e-20: the fix must say the amount that was meant.
    if math.isfinite(amount) and 0 < abs(amount) < 1e6 and _fmt(amount) != "0":
        return f"exponents are not allowed: write {_fmt(amount)}, not {value}"
    return f"exponents are not allowed: write the plain number, not {value}"


def _unit_message(key: str, amount: str, unit: str, written: str) -> str:
    """``written`` is the value as the file has it, quoted back as it is."""
    amount = amount.replace(",", ".")
    unit_name = key_schema(key).get("x-unit", "")
    if key.startswith("cpu") and unit == "m" and _PLAIN.match(amount):
        cores = float(amount) / 1000
        smallest = key_schema(key).get("minimum", 0)
        if cores < smallest:
            return (
                f"CPU is counted in cores, without a unit, and {amount}m is less "
                f"than the smallest amount, {_fmt(smallest)} (1m)"
            )
        return (
            "CPU is counted in cores, without a unit: write "
            f"{_fmt(cores)}, not {shown(written)}"
        )
    return (
        f"{key} is always in {unit_name}, without a unit: write {amount}, "
        f"not {shown(written)}"
    )


def _schema_problem(number: int, key: str, amount: Number, text: str) -> Problem | None:
    """The first schema error for this value, as a message an author can act on."""
    error = first_error(key, amount)
    if error is None:
        return None
    keyword, bound, message = error
    unit = key_schema(key).get("x-unit", "")
    if keyword == "minimum" and amount == 0:
        return Problem(
            ProblemKind.ZERO,
            number,
            text,
            f"{key} must be more than 0 {unit}; write {_fmt(bound)} or more, or "
            "delete the line to use the default",
        )
    if keyword == "minimum":
        # The schema's minimum is the least amount that Kubernetes still
        # keeps (1m of CPU, bytes of memory): less would round to nothing,
        # and a pod without a limit has no limit at all.
        return Problem(
            ProblemKind.TOO_SMALL,
            number,
            text,
            f"the smallest amount of {key} is {_fmt(bound)} {unit} (Kubernetes "
            f"rounds less to nothing); write {_fmt(bound)} or more, or delete "
            "the line to use the default",
        )
    if keyword == "type" and bound == "integer":
        return Problem(
            ProblemKind.NOT_WHOLE,
            number,
            text,
            f"{unit} are whole devices: write a whole number such as "
            f"{max(1, math.floor(amount))}",
        )
    if keyword == "maximum":
        return Problem(
            ProblemKind.TOO_BIG,
            number,
            text,
            f"{key} may be at most {bound} {unit} on any service; ask for less",
        )
    return Problem(ProblemKind.NOT_A_NUMBER, number, text, f"{key}: {message}")
