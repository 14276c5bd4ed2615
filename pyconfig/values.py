"""Read the admin's ``hub.config`` from a chart values file, as the hub would.

Used by the command line (``check --values``) so a repository author can see
the defaults and caps of a real deployment without a cluster.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from traitlets import TraitError
from traitlets.config import Config, Configurable

from .policy import ResourcePolicy

C = TypeVar("C", bound=Configurable)

#: Where ``hub.config`` sits in our umbrella chart, a binderhub chart's values
#: and a z2jh chart's values, tried in this order.
HUB_CONFIG_PATHS = (
    ("binderhub", "jupyterhub", "hub", "config"),
    ("jupyterhub", "hub", "config"),
    ("hub", "config"),
)


class ValuesError(ValueError):
    """A values file that cannot configure the policy; names the file and key."""


def hub_config(values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The dotted location and content of ``hub.config`` in a values tree."""
    for path in HUB_CONFIG_PATHS:
        node: Any = values
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return ".".join(path), node
    return "", {}


def policy_from_values(path: Path) -> ResourcePolicy:
    """The :class:`ResourcePolicy` a values file configures."""
    return configurable_from_values(ResourcePolicy, path)


def configurable_from_values(cls: type[C], path: Path) -> C:
    """An instance of a hub class configured by a values file's hub.config."""
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ValuesError(f"{path}: cannot read values: {error}") from error
    if not isinstance(values, dict):
        raise ValuesError(f"{path}: a values file must be a mapping at the top")
    where, config = hub_config(values)
    section = config.get(cls.__name__) or {}
    key = f"{where}.{cls.__name__}"
    if not isinstance(section, dict):
        raise ValuesError(f"{path}: {key} must be a mapping")
    known = cls.class_trait_names(config=True)
    for name in section:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ValuesError(f"{path}: {key}.{name} is not a setting{hint}")
    try:
        return cls(config=Config({cls.__name__: section}))
    except TraitError as error:
        raise ValuesError(f"{path}: {key}: {error}") from error
