"""Decide the resources of one launch from the launched repository's `.resources`.

A missing file, or a repository we cannot read from, launches with the
defaults and says why; a broken file refuses the launch with the message the
author needs (both configurable). The decision is made once per commit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from traitlets import Enum, List, Unicode
from traitlets.config import LoggingConfigurable

from ..resources.effective import EffectiveResources, evaluate_parsed
from ..resources.parser import ResourcesFile
from ..resources.policy import Count, ResourcePolicy
from ..resources.problems import ResourcesError
from . import metrics
from .refusal import LaunchRefused
from .repo_files import FetchError, RepoFileFetcher
from .repo_spec import LaunchedRepo, NotFromRepository, launched_repo
from .resources_cache import ParsedFile, ResourcesCache


@dataclass(frozen=True)
class LaunchResources:
    """The resources one launch gets and, in words, where they came from."""

    resources: EffectiveResources
    origin: str  # "file" or "defaults"
    explanation: str
    repo: LaunchedRepo | None = None


class RepositoryResources(LoggingConfigurable):
    """Reads the launched repository's `.resources` and applies the policy."""

    file_path = Unicode(
        ".resources", help="Path of the resources file in the repository."
    ).tag(config=True)
    trusted_services = List(
        Unicode(),
        ["binder"],
        help="Hub services whose launches have their repository's file read "
        "(BinderHub launches as the service `binder`). A launch sent by anyone "
        "else, e.g. a user's own API token, gets the defaults: its "
        "user_options could name any repository the hub's tokens can read.",
    ).tag(config=True)
    on_fetch_error = Enum(
        ["defaults", "refuse"],
        "defaults",
        help="When the file cannot be read (timeout, server error, too large): "
        "'defaults' launches with the defaults and says why in the log and "
        "the notebook's environment; 'refuse' refuses the launch.",
    ).tag(config=True)
    on_invalid_file = Enum(
        ["refuse", "defaults"],
        "refuse",
        help="When the file has problems: 'refuse' refuses the launch with "
        "every problem and its line; 'defaults' launches with the defaults.",
    ).tag(config=True)
    cache_entries = Count(
        4096,
        help="Parsed files kept, one per repository and commit (least "
        "recently used dropped first).",
    ).tag(config=True, schema={"minimum": 0})

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.fetcher = RepoFileFetcher(parent=self)
        self.cache = ResourcesCache(self.cache_entries)
        self._in_flight: dict[LaunchedRepo, asyncio.Future[ParsedFile]] = {}

    async def for_launch(
        self,
        user_options: dict[str, Any],
        policy: ResourcePolicy,
        requester: str | None = None,
    ) -> LaunchResources:
        """The resources for a launch with these ``user_options``, sent by the
        hub service named ``requester`` ("" for a user, not a service; None
        when no request started it: the hub itself, or a preview)."""
        repo = launched_repo(user_options)
        if not isinstance(repo, NotFromRepository) and (
            requester is not None and requester not in self.trusted_services
        ):
            return self._defaults(
                policy,
                "the launch was not sent by BinderHub (a trusted hub service: "
                f"{', '.join(self.trusted_services) or 'none'}), so its "
                "repository's file is not read",
            )
        if isinstance(repo, NotFromRepository):
            return self._defaults(policy, repo.reason)
        try:
            entry = await self._parsed(repo)
        except FetchError as error:
            reason = f"could not read {self.file_path} of {repo.describe()}: {error}"
            if self.on_fetch_error == "refuse":
                raise LaunchRefused(
                    f"Launch refused: {reason}. Try again in a moment.", "fetch"
                ) from None
            return self._defaults(policy, reason, repo)
        if not entry.found:
            return self._defaults(
                policy, f"{repo.describe()} has no {self.file_path}", repo
            )
        source = f"{self.file_path} of {repo.describe()}"
        try:
            resources = evaluate_parsed(
                entry.parsed,
                list(entry.problems),
                policy,
                source=self.file_path,
                total=entry.problem_count,
            )
        except ResourcesError as error:
            if self.on_invalid_file == "defaults":
                return self._defaults(policy, f"{source} {error.verdict}", repo)
            heading = f"Launch refused: the {source} {error.verdict}."
            advice = error.advice(name_the_check=True)
            raise LaunchRefused(
                f"{heading} {advice}".rstrip() + f"\n{error.report()}"
            ) from None
        return LaunchResources(resources, "file", f"from {source}", repo)

    def _defaults(
        self, policy: ResourcePolicy, reason: str, repo: LaunchedRepo | None = None
    ) -> LaunchResources:
        resources = evaluate_parsed(ResourcesFile(), [], policy)
        return LaunchResources(resources, "defaults", f"defaults: {reason}", repo)

    async def _parsed(self, repo: LaunchedRepo) -> ParsedFile:
        """The parsed file at this commit, fetched at most once at a time."""
        if repo.pinned:
            cached = self.cache.get(repo)
            metrics.CACHE_LOOKUPS.labels("hit" if cached else "miss").inc()
            if cached is not None:
                return cached
            running = self._in_flight.get(repo)
            if running is not None:
                return await asyncio.shield(running)
        future: asyncio.Future[ParsedFile] = asyncio.get_running_loop().create_future()
        if repo.pinned:
            self._in_flight[repo] = future
        try:
            with metrics.FETCH_SECONDS.time():
                fetched = await self.fetcher.fetch(repo, self.file_path)
            entry = await ParsedFile.parse(fetched.data)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, none is left unseen
            raise
        finally:
            self._in_flight.pop(repo, None)
        if repo.pinned:
            self.cache.put(repo, entry)
            metrics.CACHE_ENTRIES.set(len(self.cache))
        future.set_result(entry)
        return entry
