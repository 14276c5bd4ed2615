"""``python -m pyconfig``: check a `.resources` file before pushing it.

Exit status: 0 every file is valid, 1 a file is invalid (every problem is
printed), 2 the command was used wrongly (bad option, unreadable values file,
a path that does not exist or is neither a regular file nor a folder, a
repository that cannot be read), always as one ``error:`` line. A repository
folder without a `.resources` is valid: its notebooks get the defaults.

The file is judged as the hub would be served it: a symbolic link as its
link text (GitHub and GitLab serve that, not the target), and a file over
64 KiB is invalid (exit 1) whether it is read here or fetched.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import stat
import sys
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..resources.effective import EffectiveResources, evaluate
from ..resources.kubespawner_settings import kubespawner_settings
from ..resources.parser import MAX_BYTES
from ..resources.policy import PolicyError, ResourcePolicy
from ..resources.problems import Problem, ProblemKind, ResourcesError, with_unit
from .chart_values import (
    ValuesError,
    checked_policy_from_values,
    configurable_from_values,
)

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
#: An admin's commands that need the chart, Helm's engine and the hub's
#: packages, so they run from a clone (offline/cli.py), not from this wheel.
CLONE_ONLY = ("preview", "diff")
_CLONE_ONLY_HELP = (
    "An admin's `preview` (the Pod a launch gets) and `diff` (what a helm "
    "upgrade changes) run in a clone of the project, not from this package: "
    "make setup, then make preview / make diff (README, For admins)."
)
_NO_SUCH_PATH = (
    "no such file or directory; give a repository folder, a .resources file, "
    "or gh/OWNER/REPO/REF"
)

_ROWS = (
    ("cpu_guarantee", "CPU request", "cores"),
    ("cpu_limit", "CPU limit", "cores"),
    ("mem_guarantee", "memory request", "GB"),
    ("mem_limit", "memory limit", "GB"),
    ("gpu", "GPUs", ""),
)


def build_parser(prog: str = "pyconfig") -> argparse.ArgumentParser:
    """The command line; ``prog`` is how the user started it (the installed
    ``pyconfig``, or ``python -m pyconfig`` in a clone), for help and errors."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check .resources files before you push them.",
        epilog=_CLONE_ONLY_HELP,
    )
    parser.add_argument(
        "--version", action="version", version=f"pyconfig {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check",
        help="check .resources files and show the resources a notebook gets",
        description="Check .resources files and show the resources a "
        "notebook launched from the repository gets. A repository without "
        "a .resources gets the defaults; a PATH that does not exist is an "
        "error (exit 2).",
    )
    check.add_argument(
        "paths",
        nargs="*",
        default=["."],  # a folder: no .resources in it means the defaults
        metavar="PATH",
        help="a .resources file, a repository folder holding one, or a "
        "repository on GitHub, GitLab or Gist (gh/OWNER/REPO/REF, a URL, ...), "
        "read the way the hub reads it (default: the current folder)",
    )
    check.add_argument(
        "--values",
        type=Path,
        metavar="FILE",
        help="a chart values file whose hub.config.ResourcePolicy, and "
        "singleuser.cpu and .memory as the hub derives defaults from them, give "
        "the defaults and caps (default: the built-in ones); settings the hub "
        "would refuse to start with are an error (exit 2)",
    )
    check.add_argument(
        "--json", action="store_true", help="print JSON, one object per file"
    )
    return parser


def main(
    argv: list[str] | None = None, out: TextIO | None = None, prog: str = "pyconfig"
) -> int:
    printable_streams(sys.stdout, sys.stderr, out)
    out = out or sys.stdout
    given = sys.argv[1:] if argv is None else argv
    if given and given[0] in CLONE_ONLY:
        print(
            f"error: {given[0]} is not a command of this package. {_CLONE_ONLY_HELP}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    args = build_parser(prog).parse_args(argv)
    try:
        if args.values:
            policy = checked_policy_from_values(args.values)
        else:
            policy = ResourcePolicy()
            policy.check()
    except (ValuesError, PolicyError) as error:
        print(f"error: {_shown(str(error), 1000)}", file=sys.stderr)
        return EXIT_USAGE
    status = EXIT_VALID
    for path in args.paths:
        code = _check_one(path, policy, args.json, out, args.values)
        status = max(status, code)
    return status


def printable_streams(*streams: TextIO | None) -> None:
    """Print any file name, even one that is not valid in the locale's
    encoding, as escapes rather than dying on it."""
    for stream in streams:
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def _check_one(
    spec: str, policy: ResourcePolicy, as_json: bool, out: TextIO, values: Path | None
) -> int:
    path = Path(spec)  # a URL is no Path: Path() would fold its "//"
    try:
        kind = _kind(path, link_to_folder=True)
    except _NotAFile as error:
        return _usage_error(spec, str(error))
    except OSError as error:  # a name too long, a folder that may not be read
        if not _is_remote(spec):
            return _usage_error(spec, error.strerror or str(error))
        kind = _MISSING
    if kind == _MISSING and _is_remote(spec):
        return _check_remote(spec, policy, as_json, out, values)
    if kind == _MISSING:  # a typo must not read as "valid, defaults apply"
        return _usage_error(spec, _NO_SUCH_PATH)
    if kind == _FOLDER:
        path = path / ".resources"
    try:
        data = _read_local(path)
    except OSError as error:
        return _usage_error(str(path), error.strerror or str(error))
    except _NotAFile as error:
        return _usage_error(str(path), str(error))
    if data is None and kind != _FOLDER:  # gone since we looked
        return _usage_error(spec, _NO_SUCH_PATH)
    if data is None:  # a folder without the file: its notebooks get the defaults
        return _report(path, b"", False, policy, as_json, out)
    return _report(path, data, True, policy, as_json, out)


def _check_remote(
    spec: str, policy: ResourcePolicy, as_json: bool, out: TextIO, values: Path | None
) -> int:
    from ..hub.repo_files import FetchError

    try:
        data, found, source = asyncio.run(_fetch_remote(spec, values))
    except FetchError as error:
        if _too_large(error):  # a property of the file, as when it is local
            return _invalid(spec, [_too_large_problem()], as_json, out)
        return _usage_error(spec, str(error))
    except (ValuesError, ValueError) as error:
        return _usage_error(spec, str(error))
    return _report(source, data, found, policy, as_json, out)


#: What :func:`_kind` finds at a path.
_MISSING, _FOLDER, _FILE, _LINK = "missing", "folder", "file", "link"


class _NotAFile(Exception):
    """Something at the path that is neither a file nor a folder (a FIFO, a
    device): opening it could block forever, so it is never opened."""


def _kind(path: Path, link_to_folder: bool) -> str:
    """What is at ``path``, from its status alone (opening a FIFO blocks).

    A symbolic link is ``_LINK`` (the hub would be served its text), except
    that a link a user names on the command line may lead to a folder.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return _MISSING
    if stat.S_ISLNK(mode):
        if link_to_folder and path.is_dir():
            return _FOLDER
        return _LINK
    if stat.S_ISDIR(mode):
        return _FOLDER
    if stat.S_ISREG(mode):
        return _FILE
    raise _NotAFile(_not_a_file(mode))


def _read_local(path: Path) -> bytes | None:
    """The bytes the hub would fetch for this file; None when there is none.

    GitHub and GitLab serve a symbolic link as its target's path, not the
    target's content, so that text is what is checked, dangling or not.
    """
    kind = _kind(path, link_to_folder=False)
    if kind == _MISSING:
        return None
    if kind == _LINK:
        target = os.readlink(path)
        print(
            f"note: {_shown(str(path))} is a symbolic link: the hub is served "
            f"its target, {_shown(target)!r}, as the file's text",
            file=sys.stderr,
        )
        return os.fsencode(target)
    if kind == _FOLDER:
        raise _NotAFile("a folder, not a .resources file")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
    handle = os.open(path, flags)  # no blocking, should it change since _kind
    with os.fdopen(handle, "rb") as file:
        mode = os.fstat(handle).st_mode
        if not stat.S_ISREG(mode):
            raise _NotAFile(_not_a_file(mode))
        return file.read(MAX_BYTES + 1)


def _not_a_file(mode: int) -> str:
    what = "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
    return f"{what}; give a repository folder or a .resources file"


def _too_large(error: Exception) -> bool:
    """Whether a fetch failed because the file is over the size limit."""
    return str(error).startswith(f"the file is larger than {MAX_BYTES} bytes")


def _too_large_problem() -> Problem:
    return Problem(
        ProblemKind.TOO_LARGE,
        None,
        "",
        f"the file is larger than {MAX_BYTES} bytes; a .resources file may be "
        f"at most {MAX_BYTES} bytes (64 KiB): keep only the key=value lines and "
        "short comments",
    )


def _usage_error(spec: str, why: str) -> int:
    """One line on stderr naming the path, however long, and exit 2."""
    print(f"error: {_shown(spec)}: {_shown(why, 400)}", file=sys.stderr)
    return EXIT_USAGE


def _shown(spec: str, limit: int = 200) -> str:
    """A path or spec cut to a readable length, control characters escaped."""
    text = spec if spec.isprintable() else spec.encode("unicode_escape").decode()
    if len(text) <= limit:
        return text
    return f"{text[: limit - 30]}... ({len(spec)} characters)"


def _is_remote(spec: str) -> bool:
    return spec.startswith(("https://", "http://", "gh/", "gl/", "gist/"))


async def _fetch_remote(spec: str, values: Path | None) -> tuple[bytes, bool, str]:
    """The repository's file, fetched as the hub fetches it at launch."""
    from ..hub.repo_files import RepoFileFetcher
    from ..hub.repo_spec import NotFromRepository, launched_repo
    from .launch_request import user_options

    repo = launched_repo(user_options(spec))
    if isinstance(repo, NotFromRepository):
        raise ValueError(repo.reason)
    fetcher = (
        configurable_from_values(RepoFileFetcher, values)
        if values
        else RepoFileFetcher()
    )
    fetched = await fetcher.fetch(repo, ".resources")
    source = f"{fetcher.raw_url(repo, '.resources')}"
    return fetched.data or b"", fetched.data is not None, source


def _report(
    path: Path | str,
    data: bytes,
    found: bool,
    policy: ResourcePolicy,
    as_json: bool,
    out: TextIO,
) -> int:
    try:
        resources = evaluate(data, policy, source=str(path))
    except ResourcesError as error:
        return _invalid(path, error.problems, as_json, out, error.total)
    if as_json:
        report = {
            "file": str(path),
            "found": found,
            "valid": True,
            "problems": [],
            "resources": resources.as_json(),
            "kubespawner": kubespawner_settings(resources, policy),
        }
        print(json.dumps(report), file=out)
    else:
        print(_table(path, found, resources), file=out)
    return EXIT_VALID


def _invalid(
    path: Path | str,
    problems: list[Problem],
    as_json: bool,
    out: TextIO,
    total: int | None = None,
) -> int:
    """Print every problem of an invalid file; exit 1. Its JSON has the keys
    of a valid file's, so a script reads both alike."""
    if as_json:
        report = {
            "file": str(path),
            "found": True,
            "valid": False,
            "problems": [p.as_json() for p in problems],
            "resources": None,
            "kubespawner": None,
        }
        print(json.dumps(report), file=out)
    else:
        error = ResourcesError(problems, str(path), total)
        print(error.report(summary=True), file=out)
    return EXIT_INVALID


def _table(path: Path | str, found: bool, resources: EffectiveResources) -> str:
    state = "valid" if found else "not found, so the defaults apply"
    rows = [("", "value", "from")]
    for name, label, unit in _ROWS:
        setting = getattr(resources, name)
        amount = with_unit(f"{setting.value:g}", unit)
        rows.append((label, amount, setting.describe(str(path))))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{path}: {state}"]
    lines += [
        "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
