"""What can be wrong with a `.resources` file, and how it is reported.

Every problem names its line, the text as written and the fix, so a
repository author can correct the file from the message alone. The kinds are
an enum because the docs list each one with a real example message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: Shown at most this many problems in one message; the rest are counted.
MAX_SHOWN = 50

#: Where an author reads the format and every message (named in reports of
#: files that are not valid; the hub's users have no other pointer).
FORMAT_HELP = (
    "docs/resources.md of Persistent BinderHub describes the format (one "
    "key=value per line, plain numbers without units) and every message"
)


class Category(Enum):
    """What a kind of problem says about the file, for a report's heading."""

    #: Not key=value lines of plain numbers: the file cannot be read at all.
    UNREADABLE = "could not be read as a .resources file"
    #: Read, but an amount no .resources file may ask for, on any service.
    INVALID = "is not a valid .resources file"
    #: A valid request, above what this service gives.
    OVER_CAP = "asks for something this service cannot give"


class ProblemKind(Enum):
    """One class of mistake, with an example line that makes it (for the docs)."""

    TOO_LARGE = ("too-large", "File larger than 64 KiB", None)
    NOT_UTF8 = ("not-utf8", "Not UTF-8 text", b"cpur=2\xa0\n")
    MISSING_EQUALS = ("missing-equals", "No `=` on the line", "cpur: 2")
    MISSING_KEY = ("missing-key", "Nothing before `=`", "=2")
    UNKNOWN_KEY = ("unknown-key", "Unknown key", "cpu=2")
    WRONG_CASE = ("wrong-case", "Key not in lower case", "CPUR=2")
    DUPLICATE_KEY = ("duplicate-key", "Key given twice", "cpur=2\ncpur=4")
    EMPTY_VALUE = ("empty-value", "Key without a value", "memr=")
    UNIT_GIVEN = ("unit-given", "Value with a unit", "memr=4GB")
    NOT_A_NUMBER = ("not-a-number", "Value is not a number", "cpul=two")
    NOT_PLAIN = ("not-plain", "nan, inf, exponent or hex", "meml=1e3")
    NEGATIVE = ("negative", "Negative value", "cpur=-1")
    ZERO = ("zero", "Zero request or limit", "cpul=0")
    TOO_SMALL = ("too-small", "Less than Kubernetes keeps", "memr=0.0000000001")
    NOT_WHOLE = ("not-whole", "GPUs not a whole number", "gpu=0.5")
    TOO_BIG = ("too-big", "More than any notebook can have", "meml=5000")
    REQUEST_OVER_LIMIT = (
        "request-over-limit",
        "Request above limit",
        "cpur=4\ncpul=2",
    )
    OVER_CAP = ("over-cap", "Over this service's cap", "gpu=8")

    def __init__(self, code: str, title: str, example: str | bytes | None):
        self.code = code
        self.title = title
        self.example = example

    @property
    def category(self) -> Category:
        if self is ProblemKind.OVER_CAP:
            return Category.OVER_CAP
        if self in _BAD_AMOUNTS:
            return Category.INVALID
        return Category.UNREADABLE


#: Numbers that were read but that no .resources file may give.
_BAD_AMOUNTS = frozenset(
    {
        ProblemKind.NEGATIVE,
        ProblemKind.ZERO,
        ProblemKind.TOO_SMALL,
        ProblemKind.NOT_WHOLE,
        ProblemKind.TOO_BIG,
        ProblemKind.REQUEST_OVER_LIMIT,
    }
)


@dataclass(frozen=True)
class Problem:
    """One mistake at one line (``line`` is None for whole-file problems)."""

    kind: ProblemKind
    line: int | None
    text: str
    message: str

    def __post_init__(self) -> None:
        # Escaped here, once, so parsing valid lines never pays for it.
        object.__setattr__(self, "text", shown(self.text))

    def located(self, source: str) -> str:
        """``source:line: `text`: message``, the form editors jump to."""
        where = f"{source}:{self.line}" if self.line is not None else source
        quoted = f" `{self.text}`:" if self.text else ""
        return f"{where}:{quoted} {self.message}"

    def __str__(self) -> str:
        return self.located("line" if self.line is None else "")

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.code,
            "line": self.line,
            "text": self.text,
            "message": self.message,
        }


class ResourcesError(ValueError):
    """A `.resources` file the service will not use, with every problem in it."""

    def __init__(
        self,
        problems: list[Problem],
        source: str = ".resources",
        total: int | None = None,
    ):
        self.problems = sorted(problems, key=lambda p: p.line or 0)
        self.source = source
        #: How many problems the file has; more than ``problems`` holds when
        #: a cache kept only the first ones.
        self.total = max(total or 0, len(self.problems))
        super().__init__(self.report())

    @property
    def verdict(self) -> str:
        """What is wrong with the file as a whole, to follow its name: "could
        not be read as a .resources file" (or "is not a valid .resources
        file" when every line was read), "asks for something this service
        cannot give" when a valid request is over a cap, or both."""
        found = {p.kind.category for p in self.problems}
        if self.total > len(self.problems):  # problems a cache did not keep
            found.add(Category.INVALID)  # parse problems, of unknown kind
        said = [c for c in (Category.UNREADABLE, Category.INVALID) if c in found]
        said = said[:1]  # "could not be read" already says "not valid"
        if Category.OVER_CAP in found:
            said.append(Category.OVER_CAP)
        return " and ".join(c.value for c in said)

    @property
    def over_caps_only(self) -> bool:
        """True when the file is valid and only asks for more than the caps."""
        return self.verdict == Category.OVER_CAP.value

    def advice(self, name_the_check: bool = False) -> str:
        """How to fix the file, beyond each line's message ("" when every
        problem is a request above a cap: its message names the cap); with
        ``name_the_check``, also how to check it before pushing."""
        if self.over_caps_only:
            return ""
        check = (
            "; `python -m pyconfig check` checks the file before you push"
            if name_the_check
            else ""
        )
        return f"Fix each line as its message says; {FORMAT_HELP}{check}."

    def report(self, summary: bool = False) -> str:
        """Every problem (the first MAX_SHOWN, and a count of the rest) under
        ``source: N problems:``; with ``summary``, under ``source:`` and the
        verdict, with the advice after them."""
        count = self.total
        noun = "problem" if count == 1 else "problems"
        if summary:
            lines = [f"{self.source}: {self.verdict} ({count} {noun}):"]
        else:
            lines = [f"{self.source}: {count} {noun}:"]
        listed = self.problems[:MAX_SHOWN]
        lines += [f"  {p.located(self.source)}" for p in listed]
        if count > len(listed):
            lines.append(f"  ... and {count - len(listed)} more")
        if summary and self.advice():
            lines.append(self.advice())
        return "\n".join(lines)


def with_unit(amount: str, unit: str) -> str:
    """An amount as written and its unit, singular only for exactly one:
    1 core, 2 cores, 0.5 cores; 1 GPU; 1 GB (a symbol stays as it is)."""
    if amount == "1":
        unit = _SINGULAR.get(unit, unit)
    return f"{amount} {unit}".strip()


#: Plural units and their singular (units not listed read the same in both).
_SINGULAR = {"cores": "core", "CPU cores": "CPU core", "GPUs": "GPU"}


def shown(text: str, limit: int = 60) -> str:
    """Text as it may be printed: control characters escaped, long text cut."""
    if len(text) <= limit and text.isprintable():
        return text
    # Each character escapes to one or more, so the first ``limit`` decide
    # the result: a 64 KiB line costs no more to show than a short one.
    out = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode()
        for ch in text[: limit + 1]
    )
    return out if len(out) <= limit else out[: limit - 3] + "..."
