"""Keep the hub pod tied to the pyconfig/ it runs (`make schema` runs this).

z2jh copies `hub.annotations` into the hub pod template, and only a change
there (or in the hub's own ConfigMap and Secret) makes Kubernetes replace
the pod. Our code reaches the hub through a ConfigMap of its own, which the
hub Deployment cannot see: without this, `helm upgrade` with new hook code
would leave the old code running until someone restarted the hub. So
chart/values.yaml carries the sha256 of exactly what that ConfigMap ships,
as a hub pod annotation, and a test fails when it is stale.

    python -m tools.pyconfig_checksum           # rewrite it in chart/values.yaml
    python -m tools.pyconfig_checksum --check   # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "chart"
ANNOTATION = "persistent-binderhub/pyconfig-sha256"
#: What templates/pyconfig-configmap.yaml ships (its Files.Glob pattern).
SHIPPED = ("*.py", "*.json", "*.html")
_LINE = re.compile(rf'^(\s*{re.escape(ANNOTATION)}:\s*)"?[0-9a-f]*"?\s*$', re.M)


def shipped_files(chart_dir: Path = CHART) -> dict[str, str]:
    """The ConfigMap's data: file name -> text, as the template writes it
    (trailing blanks on a line are dropped there, so here too)."""
    folder = chart_dir / "files" / "pyconfig"
    files = sorted({p for pattern in SHIPPED for p in folder.glob(pattern)})
    return {p.name: re.sub(r"(?m)[ \t]+$", "", p.read_text(encoding="utf-8"))
            for p in files}  # fmt: skip


def checksum(data: dict[str, str]) -> str:
    """sha256 of a ConfigMap's data, independent of key order."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def rewrite(chart_dir: Path = CHART) -> bool:
    """Put the current checksum into values.yaml; True if it changed."""
    path = chart_dir / "values.yaml"
    text = path.read_text(encoding="utf-8")
    if not _LINE.search(text):
        raise SystemExit(f"{path}: no `{ANNOTATION}:` line to update")
    new = _LINE.sub(rf'\g<1>"{checksum(shipped_files(chart_dir))}"', text)
    path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if stale")
    parser.add_argument("--chart", type=Path, default=CHART, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        text = (args.chart / "values.yaml").read_text(encoding="utf-8")
        match = _LINE.search(text)
        found = match.group(0).split(":", 1)[1].strip().strip('"') if match else ""
        if found != checksum(shipped_files(args.chart)):
            print(f"{ANNOTATION} in chart/values.yaml is stale: run `make schema`",
                  file=sys.stderr)  # fmt: skip
            return 1
        return 0
    changed = rewrite(args.chart)
    print(f"{ANNOTATION}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
