"""Put the pinned binderhub chart into chart/charts/ (`make deps`).

    python -m tools.deps               # fetch it if missing or wrong
    python -m tools.deps --lock        # rewrite chart/Chart.lock from Chart.yaml

The chart comes from its chart repository (Chart.yaml) through Helm; where
that repository cannot be reached, from a local copy of it: a folder with
the repository's ``index.yaml`` and ``.tgz`` files (``CHART_MIRROR``, default
``../shared/charts`` beside this project). Either way the archive must carry
the digest the repository's index gives it, and ``Chart.lock`` must agree
with ``Chart.yaml`` (Helm's own check, made here before anything is fetched).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import helm_python
import yaml

from offline.chart import helm_quiet

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "chart"
LOCK = CHART / "Chart.lock"
DEFAULT_MIRROR = ROOT.parent / "shared" / "charts"


class DepsError(RuntimeError):
    """The dependency cannot be put in place; the message says why, in one line."""


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str
    repository: str
    chart: Path = CHART

    @property
    def archive(self) -> Path:
        return self.chart / "charts" / f"{self.name}-{self.version}.tgz"


def declared(chart: Path = CHART) -> list[Dependency]:
    meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))
    return [
        Dependency(d["name"], str(d["version"]), d["repository"], chart)
        for d in meta.get("dependencies") or []
    ]


def lock_digest(dependencies: list[Dependency]) -> str:
    """Helm's Chart.lock digest: sha256 of the JSON of [requested, locked].

    With exact versions both lists are the same. Helm checks it on
    `helm dependency build`; test_deps proves Helm accepts ours.
    """
    entries = [
        {"name": d.name, "version": d.version, "repository": d.repository}
        for d in dependencies
    ]
    data = json.dumps([entries, entries], separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def write_lock(chart: Path = CHART) -> Path:
    dependencies = declared(chart)
    for dependency in dependencies:
        if any(c in dependency.version for c in "^~<>*| "):
            raise DepsError(f"{dependency.name}: pin an exact version in Chart.yaml")
    lock = {
        "dependencies": [
            {"name": d.name, "repository": d.repository, "version": d.version}
            for d in dependencies
        ],
        "digest": lock_digest(dependencies),
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    path = chart / "Chart.lock"
    path.write_text(yaml.safe_dump(lock, sort_keys=False), encoding="utf-8")
    return path


def check_lock(chart: Path = CHART) -> list[Dependency]:
    """The locked dependencies, after checking Chart.lock matches Chart.yaml."""
    path = chart / "Chart.lock"
    if not path.exists():
        raise DepsError(f"{path} is missing: run `python -m tools.deps --lock`")
    lock = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    dependencies = declared(chart)
    if lock.get("digest") != lock_digest(dependencies):
        raise DepsError(
            f"{path} is out of date with Chart.yaml: "
            "run `python -m tools.deps --lock` and commit it"
        )
    return dependencies


def archive_ok(dependency: Dependency) -> bool:
    """The archive is there and is the chart it claims to be."""
    if not dependency.archive.exists():
        return False
    try:
        with helm_quiet():
            chart = helm_python.Chart.load(str(dependency.archive))
    except helm_python.HelmError:
        return False
    try:
        return (chart.name, str(chart.version)) == (dependency.name, dependency.version)
    finally:
        chart.close()


def index_digest(index: dict, dependency: Dependency, where: str) -> tuple[str, str]:
    """(digest, file name) the repository index gives the locked version."""
    entries = (index.get("entries") or {}).get(dependency.name) or []
    entry = next((e for e in entries if str(e["version"]) == dependency.version), None)
    if entry is None:
        raise DepsError(f"{where} has no {dependency.name} {dependency.version}")
    return entry.get("digest", ""), entry["urls"][0].rsplit("/", 1)[-1]


def check_digest(archive: Path, wanted: str) -> None:
    found = helm_python.digest(str(archive))
    if found.removeprefix("sha256:") != wanted.removeprefix("sha256:"):
        raise DepsError(
            f"{archive}: digest {found} differs from the repository index's "
            f"{wanted}; the archive is corrupt or altered"
        )


def from_mirror(dependency: Dependency, mirror: Path) -> Path:
    """Copy the archive from a local copy of the chart repository, digest checked."""
    index_path = mirror / "index.yaml"
    if not index_path.exists():
        raise DepsError(f"no chart repository copy at {mirror} (no index.yaml)")
    index = yaml.safe_load(index_path.read_text(encoding="utf-8")) or {}
    wanted, file_name = index_digest(index, dependency, str(index_path))
    source = mirror / file_name
    if not source.exists():
        raise DepsError(f"{source} is listed in {index_path} but missing")
    check_digest(source, wanted)
    dependency.archive.parent.mkdir(parents=True, exist_ok=True)
    for stale in dependency.archive.parent.glob(f"{dependency.name}-*.tgz"):
        stale.unlink()
    shutil.copyfile(source, dependency.archive)
    return source


def fetch(mirror: Path, *, quiet: bool = False, chart: Path = CHART) -> None:
    """Make chart/charts/ hold exactly the locked dependencies."""
    dependencies = check_lock(chart)
    missing = [d for d in dependencies if not archive_ok(d)]
    if not missing:
        if not quiet:
            print(
                "chart/charts/ has "
                + ", ".join(f"{d.name} {d.version}" for d in dependencies)
            )
        return
    try:
        with helm_quiet():
            helm_python.dependency_build(str(chart))
        repository_error = None
    except helm_python.HelmError as error:
        repository_error = f"unreachable: {str(error).splitlines()[0]}"
    for dependency in missing:
        if repository_error is None and archive_ok(dependency):
            index = helm_python.repo_index(dependency.repository)
            check_digest(
                dependency.archive,
                index_digest(index, dependency, dependency.repository)[0],
            )
            print(
                f"{dependency.name} {dependency.version} from "
                f"{dependency.repository} (digest checked)"
            )
            continue
        try:
            source = from_mirror(dependency, mirror)
        except DepsError as mirror_error:
            raise DepsError(
                f"cannot get {dependency.name} {dependency.version}: its chart "
                f"repository {dependency.repository} failed ({repository_error}) "
                f"and the local copy failed ({mirror_error}); "
                "set CHART_MIRROR=DIR to a copy of the repository"
            ) from None
        print(
            f"{dependency.name} {dependency.version} from {source} "
            "(chart repository unreachable; digest checked)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", action="store_true", help="rewrite Chart.lock")
    parser.add_argument("--quiet", action="store_true", help="say nothing if present")
    args = parser.parse_args(argv)
    mirror = Path(os.environ.get("CHART_MIRROR") or DEFAULT_MIRROR)
    try:
        if args.lock:
            print(f"wrote {write_lock().relative_to(ROOT)}")
            return 0
        fetch(mirror, quiet=args.quiet)
    except DepsError as error:
        print(f"make deps: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
