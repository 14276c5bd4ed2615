"""Render the chart offline with the real Helm engine (PyPI helm-python-sdk).

    python -m tools.chart [VALUES]   # default values/cerit.yaml

writes build/rendered/<values file name>.yaml and prints one line per object.
The upstream binderhub chart is a dependency that `make deps` fetches; when it
is absent (CI, no chart repository here) only this chart's own templates
render, which is what the tests check.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "chart"
RENDERED = ROOT / "build" / "rendered"
RELEASE, NAMESPACE = "binderhub", "binderhub"

helm_python.disable_logging()  # it reports each followed symlink


def load_values(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def render(values: dict[str, Any]) -> dict[str, str]:
    """Template name -> rendered text (NOTES.txt included), as `helm template`."""
    chart = helm_python.Chart.load(str(CHART))  # render mutates it: load anew
    try:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE)
    finally:
        chart.close()


def manifests(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """The Kubernetes objects of a render, in template order."""
    objects = []
    for name in sorted(rendered):
        if name.endswith(".yaml"):
            objects += [doc for doc in yaml.safe_load_all(rendered[name]) if doc]
    return objects


def stream(rendered: dict[str, str]) -> str:
    """The render as `helm template` prints it: each template under a Source line."""
    parts = []
    for name in sorted(rendered):
        text = rendered[name].strip("\n")
        if name.endswith(".yaml") and text.strip():
            body = text if not text.startswith("---") else text[3:].lstrip("\n")
            parts.append(f"---\n# Source: {name}\n{body}\n")
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    values_path = Path(args[0] if args else ROOT / "values" / "cerit.yaml")
    started = time.perf_counter()
    try:
        rendered = render(load_values(values_path))
    except helm_python.HelmError as error:
        print(f"{values_path}: {error}", file=sys.stderr)
        return 1
    objects = manifests(rendered)
    RENDERED.mkdir(parents=True, exist_ok=True)
    target = RENDERED / f"{values_path.stem}.yaml"
    target.write_text(stream(rendered), encoding="utf-8")
    for obj in objects:
        meta = obj.get("metadata", {})
        print(f"{obj['kind']:<14} {meta.get('name', '')}")
    took = time.perf_counter() - started
    print(f"{len(objects)} objects from {values_path} -> {target} ({took:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
