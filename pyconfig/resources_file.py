"""Parse the `.resources` file a repository author writes.

The format is deliberately tiny (``key=value`` lines, ``#`` comments) and the
parser is strict: a typo that silently fell back to a default would give a
researcher a notebook without the GPU they asked for, so every doubtful line
is an error with a fix, and all of them are reported together.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .problems import Problem, ProblemKind, ResourcesError, shown
from .schema import first_error, integer_keys, key_schema, resource_keys

#: Larger files are refused before they are read line by line.
MAX_BYTES = 64 * 1024

Number = int | float

# The common case, a well-formed line with an optional comment, in one match.
_GOOD_LINE = re.compile(
    r"\s*([a-z]+)\s*=\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:#.*)?\Z", re.DOTALL
)
_PLAIN = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+\Z")
_HEX = re.compile(r"[+-]?0[xXoObB][0-9a-fA-F_]*\Z")
_WITH_UNIT = re.compile(r"((?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+))\s*([A-Za-z]+)\Z")
_COMMA_DECIMAL = re.compile(r"[0-9]+,[0-9]+\Z")
_SPECIAL = frozenset({"nan", "inf", "infinity"})
#: A plain number longer than this is not a resource amount anyone means.
_MAX_NUMBER_CHARS = 20

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


def parse_collecting(data: bytes | str) -> tuple[ResourcesFile, list[Problem]]:
    """Parse what can be parsed and collect the problems of the rest.

    Callers that add their own checks (effective resources) use this so a
    file's problems are all reported in one go.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        return ResourcesFile(), [_too_large(len(raw))]
    parsed = ResourcesFile()
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, line in _decoded_lines(raw, problems):
        _parse_line(number, line, parsed, seen, problems)
    return parsed, problems


def _too_large(size: int) -> Problem:
    return Problem(
        ProblemKind.TOO_LARGE,
        None,
        "",
        f"the file is {size} bytes; a .resources file may be at most "
        f"{MAX_BYTES} bytes (64 KiB): keep only the key=value lines and "
        "short comments",
    )


def _decoded_lines(raw: bytes, problems: list[Problem]):
    """Yield (line number, text) for each line that is valid UTF-8."""
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


def _parse_line(
    number: int,
    line: str,
    parsed: ResourcesFile,
    seen: dict[str, int],
    problems: list[Problem],
) -> None:
    """Parse one line into ``parsed``; ``seen`` maps each key to its first line."""
    start = line.lstrip()[:1]
    if not start or start == "#":
        return
    good = _GOOD_LINE.match(line)
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
    parts = re.split(r"\s*:\s*|\s+", content, maxsplit=1)
    if len(parts) == 2 and parts[0] in resource_keys():
        fix = f"write {parts[0]}={parts[1]}"
    else:
        fix = "write key=value, e.g. cpur=2"
    return Problem(
        ProblemKind.MISSING_EQUALS, number, text, f"no '=' on this line; {fix}"
    )


def _bad_key(number: int, key: str, text: str) -> Problem:
    keys = resource_keys()
    if key.lower() in keys:
        return Problem(
            ProblemKind.WRONG_CASE,
            number,
            text,
            f"keys are lower case: write {key.lower()}, not {shown(key)}",
        )
    guesses = suggestions(key.lower())
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
    if _PLAIN.match(value) and len(value) <= _MAX_NUMBER_CHARS:
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
    if value.startswith("-") and _PLAIN.match(value[1:]):
        least = "0 or more" if "minimum" in key_schema(key) else "a number above 0"
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
        return ProblemKind.UNIT_GIVEN, _unit_message(key, *with_unit.groups())
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


def _exponent_message(value: str) -> str:
    amount = float(value)
    if math.isfinite(amount) and 0 < abs(amount) < 1e6:
        written = f"{amount:.6f}".rstrip("0").rstrip(".")
        return f"exponents are not allowed: write {written}, not {value}"
    return f"exponents are not allowed: write the plain number, not {value}"


def _unit_message(key: str, amount: str, unit: str) -> str:
    amount = amount.replace(",", ".")
    unit_name = key_schema(key).get("x-unit", "")
    if key.startswith("cpu") and unit == "m" and _PLAIN.match(amount):
        cores = f"{float(amount) / 1000:.3f}".rstrip("0").rstrip(".")
        return f"CPU is counted in cores, without a unit: write {cores}, not {amount}m"
    return (
        f"{key} is always in {unit_name}, without a unit: write {amount}, "
        f"not {amount}{unit}"
    )


def _schema_problem(number: int, key: str, amount: Number, text: str) -> Problem | None:
    """The first schema error for this value, as a message an author can act on."""
    error = first_error(key, amount)
    if error is None:
        return None
    keyword, bound, message = error
    unit = key_schema(key).get("x-unit", "")
    if keyword == "exclusiveMinimum":
        return Problem(
            ProblemKind.ZERO,
            number,
            text,
            f"{key} must be more than 0 {unit}; write a positive amount, or "
            "delete the line to use the default",
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
