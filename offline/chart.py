"""Render the whole release offline, as `helm template` would for a target cluster.

    python -m offline.chart [VALUES] [--kube-version 1.28] [--verbose]

writes build/rendered/<values file name>.yaml (the stream `helm template`
prints) and one line per object. Every object of the release is rendered:
this chart's, the binderhub chart's and z2jh's (`make deps` puts them in
chart/charts/). Templates that ask the cluster what it serves
(`.Capabilities.APIVersions`) get the built-in APIs of the given Kubernetes
version, so the output is what `helm upgrade` applies to such a cluster,
test hooks included (marked).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml
from helm_python import _native

from fakes.cluster import KUBE_VERSION, NAMESPACE, RELEASE
from offline import schema_problems

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "chart"
RENDERED = ROOT / "build" / "rendered"
NEWEST_KUBE_VERSION = ".".join(kubernetes_validate.latest_version().split(".")[:2])


_VERBOSE = False


@contextmanager
def helm_quiet() -> Iterator[None]:
    """Helm's INFO lines (one per symlink it follows, on every chart load)
    only with --verbose; anything else it prints still reaches stderr.

    The library writes them to file descriptor 2 itself, past Python."""
    if _VERBOSE:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode(errors="replace").splitlines():
                if " INFO " not in line:
                    print(line, file=sys.stderr)


class ChartError(RuntimeError):
    """A render that cannot be made; the message is one line for the admin."""


def full_version(version: str) -> str:
    """'1.28' -> '1.28.0' (Helm wants major.minor.patch)."""
    parts = version.lstrip("v").split(".")
    if len(parts) == 2:
        parts.append("0")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ChartError(f"Kubernetes version {version!r}: write it as 1.28")
    return ".".join(parts)


@cache
def builtin_api_versions(version: str) -> tuple[str, ...]:
    """What a cluster of that version serves out of the box: "group/version"
    and "group/version/Kind", read from kubernetes-validate's copy of that
    release's OpenAPI definitions. Alpha APIs are off by default and left out."""
    minor = ".".join(full_version(version).split(".")[:2])
    folder = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    path = folder / f"v{minor}.0-local" / "_definitions.json"
    if not path.exists():
        known = sorted(p.name.split("-")[0] for p in folder.glob("v*-local"))
        raise ChartError(
            f"Kubernetes {version}: no API list for it; known: {', '.join(known)}"
        )
    definitions = json.loads(path.read_text(encoding="utf-8"))["$defs"]
    served: set[str] = set()
    for schema in definitions.values():
        if "metadata" not in schema.get("properties", {}):
            continue
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            if "alpha" in gvk["version"] or gvk["kind"].endswith("List"):
                continue
            group_version = "/".join(p for p in (gvk["group"], gvk["version"]) if p)
            served |= {group_version, f"{group_version}/{gvk['kind']}"}
    return tuple(sorted(served))


def _check_kube_version(chart_dir: Path, version: str) -> None:
    """Refuse a Kubernetes the chart does not support, as `helm template
    --kube-version` does (the `>=X.Y.Z-0` form our Chart.yaml uses)."""
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"))
    constraint = str(meta.get("kubeVersion") or "")
    match = re.fullmatch(r">=\s*(\d+)\.(\d+)\.(\d+)(-0)?", constraint)
    if constraint and not match:
        raise ChartError(f"Chart.yaml kubeVersion {constraint!r}: only >=X.Y.Z is read")
    if match:
        oldest = tuple(int(n) for n in match.groups()[:3])
        wanted = tuple(int(n) for n in full_version(version).split("."))
        if wanted < oldest:
            raise ChartError(
                f"Kubernetes {full_version(version)} is older than the chart "
                f"supports ({constraint})"
            )


def missing_dependencies(chart_dir: Path = CHART) -> list[str]:
    with helm_quiet():
        listed = helm_python.dependency_list(str(chart_dir))
    return [
        f"{d['name']} {d['version']} ({d['status']})"
        for d in listed
        if d["status"] != "ok"
    ]


def render(
    values: dict[str, Any],
    kube_version: str = KUBE_VERSION,
    chart_dir: Path = CHART,
) -> dict[str, str]:
    """Template name -> rendered text (NOTES.txt included), as `helm template`
    with `--kube-version` and the built-in `--api-versions` of that release.

    helm-python-sdk's Chart.render() takes neither; the native call beneath
    it does, so this is the one place that uses it (tests/test_render.py).
    """
    missing = missing_dependencies(chart_dir)
    if missing:
        raise ChartError(
            f"{chart_dir}/charts/ lacks {', '.join(missing)}: run `make deps`"
        )
    _check_kube_version(chart_dir, kube_version)
    options = {
        "name": RELEASE,
        "namespace": NAMESPACE,
        "kube_version": full_version(kube_version),
        "api_versions": list(builtin_api_versions(kube_version)),
    }
    with helm_quiet():
        chart = helm_python.Chart.load(str(chart_dir))  # render mutates it
        try:
            rendered = _native.call_string(
                "helm_render", chart._raw(), json.dumps(values), json.dumps(options)
            )
        finally:
            chart.close()
    return json.loads(rendered)


def lint(
    values: dict[str, Any], kube_version: str, chart_dir: Path = CHART
) -> list[str]:
    """`helm lint --strict --with-subcharts` findings above "info", one line each."""
    with helm_quiet():
        report = helm_python.lint(
            str(chart_dir),
            values,
            strict=True,
            with_subcharts=True,
            kube_version=full_version(kube_version),
        )
    info = 1  # severities: 1 info, 2 warning, 4 error
    return [
        f"{m['path']}: {m['error']}"
        for m in report.get("messages", [])
        if m["severity"] > info
    ] + list(report.get("errors") or [])


def manifests(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """The Kubernetes objects of a render, in template order."""
    objects = []
    for name in sorted(rendered):
        if name.endswith(".yaml"):
            objects += [
                doc
                for doc in yaml.safe_load_all(rendered[name])
                if isinstance(doc, dict)
            ]
    return objects


def sources(rendered: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(template name, object) for every object of a render."""
    return [
        (name, doc)
        for name in sorted(rendered)
        if name.endswith(".yaml")
        for doc in yaml.safe_load_all(rendered[name])
        if isinstance(doc, dict)
    ]


def stream(rendered: dict[str, str]) -> str:
    """The render as `helm template` prints it: each document under a Source line."""
    parts = []
    for name in sorted(rendered):
        if not name.endswith(".yaml"):
            continue
        for document in re.split(r"(?m)^---[ \t]*$", rendered[name]):
            body = document.strip("\n")
            if body.strip() and any(
                line.strip() and not line.lstrip().startswith("#")
                for line in body.splitlines()
            ):
                parts.append(f"---\n# Source: {name}\n{body}\n")
    return "".join(parts)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of that kind and name."""
    found = [
        o
        for o in objects
        if o.get("kind") == kind and o.get("metadata", {}).get("name") == name
    ]
    if len(found) != 1:
        raise KeyError(f"{kind}/{name}: {len(found)} in the render")
    return found[0]


def chart_of(template: str) -> str:
    """Which chart a template belongs to: the last `charts/<name>/` in its path."""
    parts = template.split("/")
    names = [parts[i + 1] for i, part in enumerate(parts[:-1]) if part == "charts"]
    return names[-1] if names else parts[0]


def merge_values(*layers: dict[str, Any]) -> dict[str, Any]:
    """Values files given in order (`-f a.yaml -f b.yaml`): later ones win,
    maps merge key by key, and a null removes the key, as Helm merges them."""
    result: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if value is None:
                result.pop(key, None)
            elif isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = merge_values(result[key], value)
            else:
                result[key] = copy.deepcopy(value)
    return result


def load_values(path: Path) -> dict[str, Any]:
    """A values file, or ChartError naming it (missing, unreadable, not YAML,
    or aliases that would expand past what Helm accepts: pyconfig.admin.safe_yaml)."""
    # Here, not at the top: the hub imports this module (tests' recording
    # spawner) with the pod's pyconfig, which has no admin package.
    from pyconfig.admin import safe_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChartError(f"{path}: no such values file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ChartError(f"{path}: cannot read it: {error}") from None
    try:
        values = safe_yaml.load(text)
    except safe_yaml.UnsafeYAML as error:
        raise ChartError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ChartError(f"{path}{where}: not valid YAML: {problem}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ChartError(f"{path}: a values file is a mapping of keys at the top")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("values", nargs="?", default=str(ROOT / "values/cerit.yaml"))
    parser.add_argument(
        "--kube-version",
        default=os.environ.get("KUBE_VERSION") or KUBE_VERSION,
        help="Kubernetes release to render for (default 1.28, or $KUBE_VERSION)",
    )
    parser.add_argument("--verbose", action="store_true", help="Helm's own logs")
    args = parser.parse_args(argv)
    global _VERBOSE
    _VERBOSE = args.verbose
    values_path = Path(args.values)
    started = time.perf_counter()
    try:
        rendered = render(load_values(values_path), args.kube_version)
    except ChartError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except helm_python.HelmError as error:
        for line in schema_problems.problems(str(error)) or [str(error)]:
            print(f"error: {values_path}: {line}", file=sys.stderr)
        return 1
    RENDERED.mkdir(parents=True, exist_ok=True)
    target = RENDERED / f"{values_path.stem}.yaml"
    target.write_text(stream(rendered), encoding="utf-8")
    objects = sources(rendered)
    for template, obj in objects:
        meta = obj.get("metadata", {})
        hook = (meta.get("annotations") or {}).get("helm.sh/hook")
        note = f"  ({hook} hook)" if hook else ""
        print(
            f"{chart_of(template):<21} {obj['kind']:<22} {meta.get('name', '')}{note}"
        )
    took = time.perf_counter() - started
    print(
        f"{len(objects)} objects for Kubernetes {full_version(args.kube_version)} "
        f"from {values_path} -> {target.relative_to(ROOT)} ({took:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
