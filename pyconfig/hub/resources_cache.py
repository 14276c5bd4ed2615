"""A bounded cache of parsed `.resources` files, keyed by repository and commit.

The file at a commit never changes, so a repository launched a thousand
times is fetched and parsed once. Entries hold the parse result, not the
bytes, and at most :data:`KEPT_PROBLEMS` problems (with the total count), so
an entry stays small even for a 64 KiB file of errors.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from ..resources.parser import ResourcesFile, parse_collecting, parse_collecting_async
from ..resources.problems import Problem
from .repo_spec import LaunchedRepo

#: Problems kept per cached file; a refused launch shows these and the count.
KEPT_PROBLEMS = 20


class ParsedFile(NamedTuple):
    """What a repository's `.resources` said at one commit."""

    found: bool
    parsed: ResourcesFile
    problems: tuple[Problem, ...]
    problem_count: int

    @classmethod
    def from_bytes(cls, data: bytes | None) -> ParsedFile:
        if data is None:
            return cls(False, ResourcesFile(), (), 0)
        parsed, problems = parse_collecting(data)
        return cls(True, parsed, tuple(problems[:KEPT_PROBLEMS]), len(problems))

    @classmethod
    async def parse(cls, data: bytes | None) -> ParsedFile:
        """from_bytes for the hub: the event loop runs between slices of the
        parse, so no file holds every user's hub for more than a slice."""
        if data is None:
            return cls(False, ResourcesFile(), (), 0)
        result = await parse_collecting_async(data, keep=KEPT_PROBLEMS)
        return cls(True, result.parsed, tuple(result.problems), result.total)


class ResourcesCache:
    """Least-recently-used map of LaunchedRepo -> ParsedFile, with counters."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict[LaunchedRepo, ParsedFile] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, repo: LaunchedRepo) -> ParsedFile | None:
        entry = self._entries.get(repo)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(repo)
        return entry

    def put(self, repo: LaunchedRepo, entry: ParsedFile) -> None:
        if self.max_entries <= 0:
            return
        self._entries[repo] = entry
        self._entries.move_to_end(repo)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
