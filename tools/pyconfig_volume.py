"""What the hub gets of pyconfig/, and the hub pod tied to it (`make schema`).

The chart ships the hub-side folders of pyconfig/ (the top-level package
file, ``resources/`` and ``hub/``; never ``admin/``) in one ConfigMap per
folder: Helm's ``Files.Glob … AsConfig`` keys files by base name, and
ConfigMap keys cannot hold a ``/``. The hub mounts them as one projected
volume whose ``items`` put each key back at its path in the package. z2jh
copies ``hub.extraVolumes`` verbatim (no templating), so that list lives in
chart/values.yaml, written here from the files themselves.

z2jh copies ``hub.annotations`` into the hub pod template, and only a change
there makes Kubernetes replace the pod: the sha256 of what the ConfigMaps
ship is one, so `helm upgrade` with new hook code restarts the hub on it.

    python -m tools.pyconfig_volume           # rewrite both in chart/values.yaml
    python -m tools.pyconfig_volume --check   # exit 1 if either is stale
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
#: Folder of pyconfig/ -> the file patterns its ConfigMap ships; the same
#: patterns as templates/pyconfig-configmap.yaml (a test renders both).
SHIPPED: dict[str, tuple[str, ...]] = {
    "": ("__init__.py",),
    "resources": ("*.py", "*.json"),
    "hub": ("*.py", "*.html"),
}
#: The hub's volume of them (hub.extraVolumes, hub.extraVolumeMounts).
PYCONFIG_VOLUME = "persistent-binderhub-pyconfig"
_LINE = re.compile(rf'^(\s*{re.escape(ANNOTATION)}:\s*)"?[0-9a-f]*"?\s*$', re.M)
#: The generated list: the marker comment, then every line below it that is
#: indented at least as deeply (the sources), up to the next key.
_SOURCES = re.compile(
    r"^(?P<indent>[ \t]*)# pyconfig-volume:[^\n]*\n(?P<body>(?:(?P=indent)[^\n]*\n)*)",
    re.M,
)


def configmap_name(folder: str) -> str:
    return f"{PYCONFIG_VOLUME}-{folder}" if folder else PYCONFIG_VOLUME


def shipped_files(chart_dir: Path = CHART) -> dict[str, dict[str, str]]:
    """ConfigMap name -> its data (file name -> text) as the template writes
    it (trailing blanks on a line are dropped there, so here too)."""
    package = chart_dir / "files" / "pyconfig"
    shipped = {}
    for folder, patterns in SHIPPED.items():
        where = package / folder
        files = sorted({p for pattern in patterns for p in where.glob(pattern)})
        shipped[configmap_name(folder)] = {
            p.name: re.sub(r"(?m)[ \t]+$", "", p.read_text(encoding="utf-8"))
            for p in files
        }
    return shipped


def checksum(shipped: dict[str, dict[str, str]]) -> str:
    """sha256 of the ConfigMaps' data, independent of key order."""
    text = json.dumps(shipped, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def volume_sources(chart_dir: Path = CHART, indent: str = "") -> str:
    """The projected volume's sources, as YAML lines at ``indent``."""
    folders = {configmap_name(folder): folder for folder in SHIPPED}
    lines = []
    for name, data in shipped_files(chart_dir).items():
        folder = folders[name]
        lines += ["- configMap:", f"    name: {name}", "    items:"]
        for key in sorted(data):
            path = f"{folder}/{key}" if folder else key
            lines.append(f"      - {{key: {key}, path: {path}}}")
    return "".join(f"{indent}{line}\n" for line in lines)


def current(text: str, chart_dir: Path = CHART) -> str:
    """values.yaml ``text`` with the checksum and the volume's sources now."""
    if not _LINE.search(text):
        raise SystemExit(f"chart/values.yaml: no `{ANNOTATION}:` line to update")
    if not _SOURCES.search(text):
        raise SystemExit("chart/values.yaml: no `# pyconfig-volume:` line to update")
    text = _LINE.sub(rf'\g<1>"{checksum(shipped_files(chart_dir))}"', text)

    def sources(match: re.Match[str]) -> str:
        head = match.group(0).split("\n", 1)[0]
        return f"{head}\n{volume_sources(chart_dir, match.group('indent'))}"

    return _SOURCES.sub(sources, text)


def rewrite(chart_dir: Path = CHART) -> bool:
    """Put the current checksum and sources into values.yaml; True if changed."""
    path = chart_dir / "values.yaml"
    text = path.read_text(encoding="utf-8")
    new = current(text, chart_dir)
    path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if stale")
    parser.add_argument("--chart", type=Path, default=CHART, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        text = (args.chart / "values.yaml").read_text(encoding="utf-8")
        if current(text, args.chart) != text:
            print("the pyconfig volume or its checksum in chart/values.yaml is "
                  "stale: run `make schema`", file=sys.stderr)  # fmt: skip
            return 1
        return 0
    changed = rewrite(args.chart)
    print(f"pyconfig volume and {ANNOTATION}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
