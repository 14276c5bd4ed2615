"""Which Python of a rendered hub comes from the values file, to leave it unrun.

``diff`` and ``preview`` run z2jh's jupyterhub_config.py on the admin's
machine, and it runs every ``hub.extraConfig`` snippet in-process (and any
``.py`` mounted under its ``jupyterhub_config.d``). Whoever can change a
release's values could so run code as the admin. What the chart ships runs:
a snippet whose key and code are the chart's own defaults (this chart's
values.yaml over the binderhub chart's, as Helm merges them). A snippet the
values file adds, or a chart key it gives other code, does not; neither does
a hub mount the values add where Python is loaded from (/usr/local/etc), nor
the chart's own code mounts once the values redefine their volume (the
pyconfig volume pointed at a Secret the values fill, a second volume of the
same name, which the API server would refuse and the hub pod on disk would
take instead).
"""

from __future__ import annotations

import base64
import copy
import tarfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from offline import sandbox
from pyconfig.admin import safe_yaml

#: The hub container's own mounts (z2jh's and this chart's), by volume name.
_CHART_MOUNTS = frozenset({"config", "secret", "pvc", "persistent-binderhub-pyconfig"})
#: Where the hub loads Python from (z2jh's config folder, pyconfig's parent).
_CODE_FOLDERS = ("/usr/local/etc/",)
#: The chart's volume of pyconfig itself (chart/values.yaml).
_PYCONFIG = "persistent-binderhub-pyconfig"


@cache
def chart_volume(chart_dir: Path, name: str = _PYCONFIG) -> dict[str, Any] | None:
    """The hub volume ``name`` as the chart's values.yaml defines it."""
    ours = safe_yaml.load((chart_dir / "values.yaml").read_text(encoding="utf-8"))
    hub = ((ours.get("binderhub") or {}).get("jupyterhub") or {}).get("hub") or {}
    for volume in hub.get("extraVolumes") or []:
        if isinstance(volume, dict) and volume.get("name") == name:
            return volume
    return None


@cache
def chart_snippets(chart_dir: Path) -> dict[str, str]:
    """The hub.extraConfig snippets the chart ships, by key: the binderhub
    chart's (read from its archive in charts/), then this chart's over them."""
    snippets: dict[str, str] = {}
    for archive in sorted((chart_dir / "charts").glob("binderhub-*.tgz")):
        with tarfile.open(archive) as tar:
            member = tar.extractfile("binderhub/values.yaml")
            values = safe_yaml.load(member.read().decode()) if member else {}
        snippets.update(_extra_config(values, ("jupyterhub",)))
    ours = safe_yaml.load((chart_dir / "values.yaml").read_text(encoding="utf-8"))
    snippets.update(_extra_config(ours, ("binderhub", "jupyterhub")))
    return snippets


def _extra_config(values: Any, root: tuple[str, ...]) -> dict[str, str]:
    node = values
    for key in (*root, "hub", "extraConfig"):
        node = node.get(key) if isinstance(node, dict) else None
    return {k: v for k, v in (node or {}).items() if isinstance(v, str)}


def chart_code_only(
    objects: list[dict[str, Any]], chart_dir: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """The render with the values file's hub Python taken out, and what was
    taken out ("hub.extraConfig.NAME", "hub mount PATH"), for the note; the
    render whole in the child of ``--run-extra-config`` (sandbox.py)."""
    if sandbox.inside():
        return objects, []
    objects = copy.deepcopy(objects)
    skipped: list[str] = []
    chart = chart_snippets(chart_dir)
    for obj in objects:
        name = (obj.get("metadata") or {}).get("name")
        if obj.get("kind") == "Secret" and name == "hub":
            skipped += _drop_snippets(obj, chart)
        if obj.get("kind") == "Deployment" and name == "hub":
            skipped += _drop_mounts(obj, chart_volume(chart_dir))
    return objects, skipped


def _drop_snippets(secret: dict[str, Any], chart: dict[str, str]) -> list[str]:
    data = secret.get("data") or {}
    if "values.yaml" not in data:
        return []
    values = safe_yaml.load(base64.b64decode(data["values.yaml"]).decode()) or {}
    snippets = (values.get("hub") or {}).get("extraConfig") or {}
    foreign = [k for k, code in snippets.items() if chart.get(k) != code]
    for key in foreign:
        del snippets[key]
    text = yaml.safe_dump(values)
    data["values.yaml"] = base64.b64encode(text.encode()).decode()
    return [f"hub.extraConfig.{key}" for key in foreign]


def _drop_mounts(deployment: dict[str, Any], pyconfig: dict | None) -> list[str]:
    """Take out mounts where the hub loads code that are not the chart's:
    a volume the values add there, or a chart volume they redefined."""
    spec = deployment["spec"]["template"]["spec"]
    volumes = [v for v in spec.get("volumes") or [] if isinstance(v, dict)]
    names = [v.get("name") for v in volumes]
    redefined = {n for n in names if names.count(n) > 1}
    if _PYCONFIG in names and [v for v in volumes if v.get("name") == _PYCONFIG] != [
        pyconfig
    ]:
        redefined.add(_PYCONFIG)
    skipped = []
    for container in spec.get("containers") or []:
        kept = []
        for mount in container.get("volumeMounts") or []:
            path = str(mount.get("mountPath", ""))
            name = mount.get("name")
            if name in redefined:
                skipped.append(f"hub volume {name} (not the chart's) at {path}")
            elif name not in _CHART_MOUNTS and path.startswith(_CODE_FOLDERS):
                skipped.append(f"hub mount {path}")
            else:
                kept.append(mount)
        container["volumeMounts"] = kept
    return skipped


def note(name: str, skipped: list[str]) -> str:
    """The one line that says what was not run."""
    return (
        f"note: {name}: not run, as Python from a values file is not run on "
        f"this machine: {', '.join(skipped)}; the configuration shown lacks it "
        f"({sandbox.OPTION} runs it in a child process without your environment)"
    )
