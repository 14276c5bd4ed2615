"""Read the admin's ``hub.config`` from a chart values file, as the hub would.

Used by the command line (``check --values``) so a repository author can see
the defaults and caps of a real deployment without a cluster.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from pathlib import Path
from typing import Any, TypeVar

import yaml
from traitlets import TraitError
from traitlets.config import Config, Configurable

from ..resources.policy import ResourcePolicy

C = TypeVar("C", bound=Configurable)

#: Where ``hub.config`` sits in our umbrella chart, a binderhub chart's values
#: and a z2jh chart's values, tried in this order.
HUB_CONFIG_PATHS = (
    ("binderhub", "jupyterhub", "hub", "config"),
    ("jupyterhub", "hub", "config"),
    ("hub", "config"),
)


class HelmLoader(yaml.SafeLoader):
    """YAML read as Helm reads it: ``1e3`` is the number 1000, not a string.

    PyYAML follows YAML 1.1, where a float needs a dot; Helm's parser does
    not, so without this a value the chart accepts would be refused here.
    """


HelmLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
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


def load_values_file(path: Path) -> Any:
    """The YAML of a values file; a :class:`ValuesError` for anything else.

    Only a regular file is opened (a FIFO would block forever), and nesting
    too deep for the parser is refused rather than crashing it.
    """
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise ValuesError(f"{path}: cannot read values: not a regular file")
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY  # stat and open race
        with os.fdopen(os.open(path, flags), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ValuesError(f"{path}: cannot read values: not a regular file")
            text = handle.read().decode("utf-8")
        return yaml.load(text, Loader=HelmLoader) or {}  # a SafeLoader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ValuesError(f"{path}: cannot read values: {_one_line(error)}") from None
    except RecursionError:
        raise ValuesError(f"{path}: cannot read values: nested too deeply") from None


def _one_line(error: Exception) -> str:
    """An error's message on one line (YAML errors span several)."""
    return " ".join(str(error).split())


def configurable_from_values(cls: type[C], path: Path) -> C:
    """An instance of a hub class configured by a values file's hub.config."""
    values = load_values_file(path)
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
    except RecursionError:  # a value nested deeper than any setting takes
        raise ValuesError(f"{path}: {key}: nested too deeply") from None
