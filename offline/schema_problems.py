"""Helm's values-schema refusal as one line per problem, named by values key.

Helm words a refusal per chart, with JSON pointers relative to that chart's
values (``jupyterhub:`` / ``- at '/hub/image/tag': ...``). An admin writes
dotted keys of this chart's values file, so each problem is given as the key
they wrote (``binderhub.jupyterhub.hub.image.tag: got number, want string``),
and a key the schema does not know comes with the closest one it does,
looked up in this chart's own schema (which holds every chart's keys).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parents[1] / "chart" / "values.schema.json"
#: Where each chart's values sit in this chart's values.
CHART_ROOTS = {
    "persistent-binderhub": (),
    "binderhub": ("binderhub",),
    "jupyterhub": ("binderhub", "jupyterhub"),
}
_CHART = re.compile(r"^([\w.-]+):$")
_PROBLEM = re.compile(r"^- at '([^']*)': (.*)$")
_UNKNOWN = re.compile(r"^additional propert(?:y|ies) (.+) not allowed$")


@functools.cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def _known_keys(path: tuple[str, ...]) -> list[str]:
    """The keys the schema allows at ``path``; none where it cannot say."""
    node: Any = _schema()
    for part in path:
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or part not in properties:
            return []
        node = properties[part]
    properties = node.get("properties") if isinstance(node, dict) else None
    return sorted(properties) if isinstance(properties, dict) else []


def _unknown(path: tuple[str, ...], names: str) -> list[str]:
    lines = []
    for name in re.findall(r"'([^']*)'", names):
        close = difflib.get_close_matches(name, _known_keys(path), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        lines.append(f"{'.'.join((*path, name))} is not a key here{hint}")
    return lines


def problems(message: str) -> list[str]:
    """Each problem of Helm's values-schema ``message`` on one line; empty
    when the message is not such a refusal."""
    lines: list[str] = []
    root: tuple[str, ...] = ()
    for line in message.splitlines():
        if chart := _CHART.match(line.strip()):
            root = CHART_ROOTS.get(chart.group(1), ())
            continue
        found = _PROBLEM.match(line.strip())
        if not found:
            continue
        pointer, what = found.groups()
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")]
        path = (*root, *(p for p in parts if p))
        if unknown := _UNKNOWN.match(what):
            lines += _unknown(path, unknown.group(1))
        else:
            lines.append(f"{'.'.join(path) or '(the top)'}: {what}")
    return lines
