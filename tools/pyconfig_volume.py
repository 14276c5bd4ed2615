"""What the hub and BinderHub get of pyconfig/, and their pods tied to it
(`make schema`).

The chart ships the pod-side folders of pyconfig/ (the top-level package
file, ``resources/``, ``hub/`` and ``binder/``; never ``admin/``) in one
ConfigMap per folder: Helm's ``Files.Glob … AsConfig`` keys files by base
name, and ConfigMap keys cannot hold a ``/``.

The hub mounts the first three as one projected volume whose ``items`` put
each key back at its path in the package. z2jh copies ``hub.extraVolumes``
verbatim (no templating), so that list lives in chart/values.yaml, written
here from the files themselves. The binder pod mounts only ``binder/``'s
ConfigMap, whole, at ``pyconfig/binder`` (``pyconfig`` is then a namespace
package there): a volume short enough for an admin's own
``binderhub.extraVolumes`` list to repeat.

z2jh copies ``hub.annotations`` into the hub pod template and the binderhub
chart ``podAnnotations`` into the binder's, and only a change there makes
Kubernetes replace a pod: the sha256 of what a pod's ConfigMaps ship is
one, so `helm upgrade` with new code restarts the pod that runs it.

    python -m tools.pyconfig_volume           # rewrite them in chart/values.yaml
    python -m tools.pyconfig_volume --check   # exit 1 if any is stale
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
    "binder": ("*.py", "*.js", "*.css", "*.html"),
}
#: Pod -> the folders of SHIPPED it mounts.
MOUNTED: dict[str, tuple[str, ...]] = {
    "hub": ("", "resources", "hub"),
    "binder": ("binder",),
}
#: The pods' volume of them (hub.extraVolumes, binderhub.extraVolumes).
PYCONFIG_VOLUME = "persistent-binderhub-pyconfig"
#: A pod's checksum line: under ``annotations:`` (the hub, z2jh's
#: hub.annotations) or ``podAnnotations:`` (the binder pod).
_LINE = re.compile(
    rf"^(?P<key>[ \t]*(?P<pod>annotations|podAnnotations):[ \t]*\n"
    rf'[ \t]*{re.escape(ANNOTATION)}:[ \t]*)"?[0-9a-f]*"?[ \t]*$',
    re.M,
)
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


def mounted_by(
    pod: str, shipped: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """The ConfigMaps of ``shipped`` that ``pod`` ("hub", "binder") mounts."""
    names = {configmap_name(folder) for folder in MOUNTED[pod]}
    return {name: data for name, data in shipped.items() if name in names}


def volume_sources(chart_dir: Path = CHART, indent: str = "") -> str:
    """The hub's projected volume's sources, as YAML lines at ``indent``."""
    folders = {configmap_name(folder): folder for folder in SHIPPED}
    lines = []
    for name, data in mounted_by("hub", shipped_files(chart_dir)).items():
        folder = folders[name]
        lines += ["- configMap:", f"    name: {name}", "    items:"]
        for key in sorted(data):
            path = f"{folder}/{key}" if folder else key
            lines.append(f"      - {{key: {key}, path: {path}}}")
    return "".join(f"{indent}{line}\n" for line in lines)


def current(text: str, chart_dir: Path = CHART) -> str:
    """values.yaml ``text`` with the checksums and the volume's sources now."""
    pods = {m.group("pod") for m in _LINE.finditer(text)}
    if pods != {"annotations", "podAnnotations"}:
        raise SystemExit(
            f"chart/values.yaml: no `{ANNOTATION}:` line under the hub's "
            "`annotations:` and the binder's `podAnnotations:` to update"
        )
    if not _SOURCES.search(text):
        raise SystemExit("chart/values.yaml: no `# pyconfig-volume:` line to update")
    shipped = shipped_files(chart_dir)
    sums = {
        "annotations": checksum(mounted_by("hub", shipped)),
        "podAnnotations": checksum(mounted_by("binder", shipped)),
    }
    text = _LINE.sub(lambda m: f'{m.group("key")}"{sums[m.group("pod")]}"', text)

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
            print(
                "the pyconfig volume or a checksum in chart/values.yaml is "
                "stale: run `make schema`",
                file=sys.stderr,
            )
            return 1
        return 0
    changed = rewrite(args.chart)
    print(f"pyconfig volume and {ANNOTATION}s: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
