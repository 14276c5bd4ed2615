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

    def report(self) -> str:
        count = self.total
        noun = "problem" if count == 1 else "problems"
        lines = [f"{self.source}: {count} {noun}:"]
        listed = self.problems[:MAX_SHOWN]
        lines += [f"  {p.located(self.source)}" for p in listed]
        if count > len(listed):
            lines.append(f"  ... and {count - len(listed)} more")
        return "\n".join(lines)


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
