"""``python -m pyconfig``: check a `.resources` file before pushing it.

Exit status: 0 every file is valid, 1 a file is invalid (every problem is
printed), 2 the command was used wrongly (bad option, unreadable values file,
a path that does not exist, a repository that cannot be read). A repository
folder without a `.resources` is valid: its notebooks get the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TextIO

from .effective import EffectiveResources, evaluate
from .policy import PolicyError, ResourcePolicy
from .problems import ResourcesError
from .profile import kubespawner_settings
from .resources_file import MAX_BYTES
from .values import ValuesError, configurable_from_values, policy_from_values

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pyconfig",
        description="Tools for Persistent BinderHub repository authors and admins.",
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
        help="a chart values file whose hub.config.ResourcePolicy gives the "
        "defaults and caps (default: the built-in ones)",
    )
    check.add_argument(
        "--json", action="store_true", help="print JSON, one object per file"
    )
    preview = commands.add_parser(
        "preview",
        help="print the Pod and PVC a launch would get (no cluster needed)",
        description="Print, as a YAML stream in Kubernetes API field names, the "
        "Pod and then the PVC that KubeSpawner would create for a launch, using "
        "the hub configuration a values file produces. Exit 1 with the message "
        "a user would see when the launch would be refused.",
    )
    preview.add_argument("--values", type=Path, required=True, metavar="FILE",
                         help="a values file of this chart")  # fmt: skip
    preview.add_argument(
        "--launch",
        required=True,
        metavar="SPEC",
        help="gh/OWNER/REPO/REF, gl/GROUP%%2FPROJECT/REF, gist/USER/ID/REF or a "
        "repository URL",
    )
    preview.add_argument("--user", default="user", help="hub user name (default: user)")
    preview.add_argument(
        "--resources",
        type=Path,
        metavar="PATH",
        help="use this .resources file instead of fetching the repository's",
    )
    preview.add_argument(
        "--image",
        help="the image BinderHub built (default: a placeholder that says so)",
    )
    preview.add_argument(
        "--verbose", action="store_true", help="also print the hub's log lines"
    )
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    if args.command == "preview":
        from .preview import run

        return run(
            args.values,
            args.launch,
            args.user,
            args.resources,
            out,
            args.verbose,
            args.image,
        )
    try:
        policy = policy_from_values(args.values) if args.values else ResourcePolicy()
        policy.check()
    except (ValuesError, PolicyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    status = EXIT_VALID
    for path in args.paths:
        code = _check_one(path, policy, args.json, out, args.values)
        status = max(status, code)
    return status


def _check_one(
    spec: str, policy: ResourcePolicy, as_json: bool, out: TextIO, values: Path | None
) -> int:
    path = Path(spec)  # a URL is no Path: Path() would fold its "//"
    if not path.exists() and _is_remote(spec):
        from .repo_files import FetchError

        try:
            data, found, source = asyncio.run(_fetch_remote(spec, values))
        except (FetchError, ValuesError, ValueError) as error:
            print(f"error: {spec}: {error}", file=sys.stderr)
            return EXIT_USAGE
        return _report(source, data, found, policy, as_json, out)
    folder = path.is_dir()
    if folder:
        path = path / ".resources"
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        found = True
    except FileNotFoundError:
        if not folder:  # a typo must not read as "valid, defaults apply"
            print(f"error: {spec}: {_NO_SUCH_PATH}", file=sys.stderr)
            return EXIT_USAGE
        data, found = b"", False
    except OSError as error:
        print(f"error: {path}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return _report(path, data, found, policy, as_json, out)


def _is_remote(spec: str) -> bool:
    return spec.startswith(("https://", "http://", "gh/", "gl/", "gist/"))


async def _fetch_remote(spec: str, values: Path | None) -> tuple[bytes, bool, str]:
    """The repository's file, fetched as the hub fetches it at launch."""
    from .launch_source import NotFromRepository, launched_repo
    from .launch_spec import user_options
    from .repo_files import RepoFileFetcher

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
        if as_json:
            report = {
                "file": str(path),
                "valid": False,
                "problems": [p.as_json() for p in error.problems],
            }
            print(json.dumps(report), file=out)
        else:
            print(error.report(), file=out)
        return EXIT_INVALID
    if as_json:
        report = {
            "file": str(path),
            "found": found,
            "valid": True,
            "resources": resources.as_json(),
            "kubespawner": kubespawner_settings(resources, policy),
        }
        print(json.dumps(report), file=out)
    else:
        print(_table(path, found, resources), file=out)
    return EXIT_VALID


def _table(path: Path | str, found: bool, resources: EffectiveResources) -> str:
    state = "valid" if found else "not found, so the defaults apply"
    rows = [("", "value", "from")]
    for name, label, unit in _ROWS:
        setting = getattr(resources, name)
        amount = f"{setting.value:g} {unit}".strip()
        rows.append((label, amount, setting.describe(str(path))))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{path}: {state}"]
    lines += [
        "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
