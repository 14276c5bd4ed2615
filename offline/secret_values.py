"""Which parts of a string are secrets, judged by the value, not its key's name.

``diff`` and ``preview`` print values files and what the chart renders from
them; a key-name filter misses a password inside ``hub.db.url``, a token in
an env var called ``GITHUB_ACCESS`` or a key base64-encoded in an
annotation. These rules find the secret part of any string so that only it
is masked and the rest (the URL's host, the code around a token) still
shows: the password of a URL, PEM and OpenSSH private keys, well-known token
shapes, connection-string keys, quoted values assigned to secret-looking
names, base64 that decodes to any of these, and long random-looking strings.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import math
import re
from collections import Counter
from typing import TextIO

_FLAGS = re.ASCII
#: The secret is a pattern's group named "secret", or else its whole match.
_PATTERNS = [
    # the password of a URL: scheme://user:PASSWORD@host
    re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:(?P<secret>[^\s@]+)@", _FLAGS),
    re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        _FLAGS | re.DOTALL,
    ),
    re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    re.compile(r"\bgl[a-z]{2,6}-[A-Za-z0-9_-]{20,}", _FLAGS),  # GitLab
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}", _FLAGS),  # Slack
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),  # Google API key
    re.compile(r"\b(?:[sr]k_(?:live|test)_|sk-|npm_|pypi-)[A-Za-z0-9_-]{16,}"),
    re.compile(
        r"(?i)\b(?:bearer|basic|token)\s+(?P<secret>[A-Za-z0-9._~+/=-]{8,})", _FLAGS
    ),
    # connection strings: AccountKey=...; Password=...; SharedAccessSignature=...
    re.compile(
        r"(?i)\b(?:account ?key|shared ?access ?(?:key|signature)|password|pwd|"
        r"client ?secret|secret|api ?key|access ?key|token|sig)"
        r"=(?P<secret>[^;\s\"'&]+)",
        _FLAGS,
    ),
    # a quoted value given to a secret-looking name, in code or config text
    re.compile(
        r"(?i)(?:password|passwd|secret|token|api_?key|private_?key|credential)"
        r"\w*[\"']?\s*[:=]\s*[\"'](?P<secret>[^\"'\s]{4,})[\"']",
        _FLAGS,
    ),
]
#: Not secrets although a pattern above matches them: environment variable
#: names (``token_env = "GITHUB_TOKEN"``) and template references.
_NAME_LIKE = re.compile(r"[A-Z][A-Z0-9_]*|\$\{?\w+\}?|\{\{.*\}\}", _FLAGS)
_RUN = re.compile(r"[A-Za-z0-9+/_=-]{20,}", _FLAGS)
#: What comes just before a run that is public: a digest, an SSH public key.
_PUBLIC_BEFORE = re.compile(
    r"(?:(?:sha1|sha256|sha512|md5):|(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp\d+"
    r"|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) )$",
    _FLAGS,
)
_B64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}", _FLAGS)


def secret_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each secret part of ``text``, sorted, not
    overlapping. Linear in the text's length (a bounded number of passes)."""
    found: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            named = "secret" in pattern.groupindex
            start, end = match.span("secret") if named else match.span()
            if end > start and not (named and _NAME_LIKE.fullmatch(text[start:end])):
                found.append((start, end))
    for match in _B64.finditer(text):
        if _decodes_to_secret(match.group()):
            found.append(match.span())
    for match in _RUN.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        if random_looking(match.group()) and not _PUBLIC_BEFORE.search(before):
            found.append(match.span())
    return _merged(found)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _decodes_to_secret(run: str) -> bool:
    """Whether base64 text decodes to a private key or a string with a secret."""
    padded = run + "=" * (-len(run) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            data = decode(padded)
        except (binascii.Error, ValueError):
            continue
        if b"PRIVATE KEY" in data or data.startswith(b"openssh-key-v1\0"):
            return True
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        # one level: a secret's base64 inside base64 is random-looking anyway
        if any(p.search(text) for p in _PATTERNS):
            return True
    return False


def random_looking(run: str) -> bool:
    """A long run of letters and digits that no word or name looks like:
    hex of 32 digits or more, or two kinds of characters (capitals, small
    letters, digits) that alternate about as often as in random text
    (CamelCase names switch at most every third character)."""
    if len(run.rstrip("=")) < 20:
        return False
    if len(run) >= 32 and re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", run):
        return True
    kinds = [_kind(c) for c in run if c.isalnum()]
    if len(kinds) < 20 or len(set(kinds)) < 2 or _entropy(run) < 3.0:
        return False
    switches = sum(a != b for a, b in itertools.pairwise(kinds))
    return switches / (len(kinds) - 1) >= 0.4


def _kind(char: str) -> str:
    if char.isdigit():
        return "digit"
    return "upper" if char.isupper() else "lower"


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


_WORD_OR_NUMBER = re.compile(r"[A-Za-z]{1,24}|[0-9]+|[A-Za-z0-9]{1,4}", _FLAGS)


def plainly_not_secret(value: str) -> bool:
    """An environment value that is plainly not a secret: words, numbers,
    paths and URLs without credentials, short codes ("k8s", "v1"). Anything
    else in an env var (a password such as ``hunter2`` too) is masked."""
    if secret_spans(value):
        return False
    return all(
        _WORD_OR_NUMBER.fullmatch(part)
        for part in re.split(r"[^A-Za-z0-9]+", value)
        if part
    )


def redacted(text: str, note: str = "(secret)") -> str:
    """``text`` with each secret part replaced by ``note`` (for error lines)."""
    parts, at = [], 0
    for start, end in secret_spans(text):
        parts += [text[at:start], note]
        at = end
    return "".join([*parts, text[at:]])


class RedactedLines(io.TextIOBase):
    """A text stream that passes each whole line on with its secrets masked:
    the hub's own log lines, which ``--verbose`` shows, quote values (a
    database URL, an environment) as freely as a values file holds them."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            self._target.write(redacted(line) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._target.write(redacted(self._pending))
            self._pending = ""
        self._target.flush()
