"""Read the admin's ``hub.config`` from a chart values file, as the hub would.

Used by the command line (``check --values``) so a repository author can see
the defaults and caps of a real deployment without a cluster, and an admin
can see before an upgrade whether the hub would refuse to start.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import stat
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from traitlets import TraitError
from traitlets.config import Config, Configurable

from ..resources.policy import ResourcePolicy
from ..resources.policy_defaults import (
    DERIVED,
    SINGLEUSER_KEYS,
    derived_defaults,
    origins,
)
from . import safe_yaml

C = TypeVar("C", bound=Configurable)

#: Where z2jh's values sit in our umbrella chart, a binderhub chart's values
#: and a z2jh chart's values, tried in this order.
JUPYTERHUB_ROOTS: tuple[tuple[str, ...], ...] = (
    ("binderhub", "jupyterhub"),
    ("jupyterhub",),
    (),
)
#: Where ``hub.config`` sits in each.
HUB_CONFIG_PATHS = tuple((*root, "hub", "config") for root in JUPYTERHUB_ROOTS)
#: What the chart holds values to, written with its schema by
#: tools/render_schema.py: the sections hub.config accepts (a misspelled
#: class is refused here as `helm` refuses it), and the singleuser resources
#: chart/values.yaml gives notebooks (named where they set a default).
RULES_FILE = Path(__file__).with_name("chart-rules.json")


@functools.cache
def chart_rules() -> dict[str, Any]:
    return json.loads(RULES_FILE.read_text(encoding="utf-8"))


def hub_config_sections() -> frozenset[str]:
    return frozenset(chart_rules()["hub_config_sections"])


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


def find_hub_config(values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The dotted location and content of ``hub.config`` in a values tree."""
    return _found(values, ("hub", "config"))


def _known_sections(path: Path, where: str, config: dict[str, Any]) -> None:
    """Every section of hub.config names a class the chart accepts; the
    first that does not is refused, with the closest name."""
    known = hub_config_sections()
    for name in config:
        if name not in known:
            close = difflib.get_close_matches(str(name), sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ValuesError(
                f"{path}: {where}.{name} is not a class the hub can be given{hint}"
            )


def _found(values: dict[str, Any], tail: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """The dotted location and content of a z2jh mapping (``hub.config``,
    ``singleuser``) in whichever chart's layout the values file has."""
    for root in JUPYTERHUB_ROOTS:
        node: Any = values
        where = (*root, *tail)
        for part in where:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return ".".join(where), node
    return "", {}


def policy_from_values(path: Path) -> ResourcePolicy:
    """The :class:`ResourcePolicy` the hub builds from a values file.

    ``hub.config.ResourcePolicy``, and the defaults the hub derives from
    KubeSpawner's resources (``singleuser.cpu``/``.memory`` in the chart, or
    ``hub.config.KubeSpawner``) where it sets none itself.
    """
    return _policy_from_values(path).policy


def checked_policy_from_values(path: Path) -> ResourcePolicy:
    """As :func:`policy_from_values`; a :class:`ValuesError` on every
    contradiction the hub refuses to start on, each named by the values key
    to fix (``singleuser.cpu.limit`` where the hub derived the default)."""
    read = _policy_from_values(path)
    found = read.policy.contradictions()
    if found:
        named = "; ".join(_named(problem, read) for problem in found)
        raise ValuesError(f"{path}: {named}")
    return read.policy


class _Source(NamedTuple):
    """A values key that sets one of KubeSpawner's resources, as written."""

    key: str
    written: Any


class _ReadPolicy(NamedTuple):
    policy: ResourcePolicy
    #: The dotted location of hub.config (where ResourcePolicy is set).
    where: str
    #: ResourcePolicy defaults the hub derives, by trait, from these keys.
    derived: dict[str, _Source]
    #: ResourcePolicy defaults this chart's own singleuser resources give,
    #: by trait: those the file sets neither way (this chart's layout only).
    charts: dict[str, _Source]


def _named(problem: str, read: _ReadPolicy) -> str:
    """A contradiction as ResourcePolicy words it, each setting named by the
    values key that sets it."""
    prefix = f"{read.where}." if read.where else ""
    problem = re.sub(r"(?<![\w.])ResourcePolicy\.", f"{prefix}ResourcePolicy.", problem)
    for name, source in read.derived.items():
        said = f"{prefix}ResourcePolicy.{name} ({getattr(read.policy, name)})"
        named = f"{source.key} ({source.written}, taken as ResourcePolicy.{name})"
        problem = problem.replace(said, named)
    for name, source in read.charts.items():
        said = f"{prefix}ResourcePolicy.{name} ({getattr(read.policy, name)})"
        named = (
            f"{source.key} ({source.written}, this chart's default, taken as "
            f"ResourcePolicy.{name})"
        )
        problem = problem.replace(said, named)
    return problem


def _chart_defaults(
    where: str, section: dict[str, Any], given: dict[str, _Source]
) -> dict[str, _Source]:
    """The ResourcePolicy defaults that come from this chart's singleuser
    resources (chart/values.yaml) because the file sets them neither in
    ResourcePolicy nor through singleuser or KubeSpawner. Equal to the
    policy's own defaults (a test holds them so), so only their name changes."""
    root = where.removesuffix("hub.config")
    if root != "binderhub.jupyterhub.":
        return {}
    amounts = chart_rules()["singleuser"]
    return {
        name: _Source(f"{root}singleuser.{part}.{bound}", amounts[part][bound])
        for name, trait in DERIVED.items()
        for part, bound in [SINGLEUSER_KEYS[trait]]
        if name not in section and trait not in given
    }


def _policy_from_values(path: Path) -> _ReadPolicy:
    """The hub's policy, where it is set, and where its derived defaults
    come from."""
    values = _values_mapping(path)
    where, config = find_hub_config(values)
    _known_sections(path, where, config)
    users_at, singleuser = _found(values, ("singleuser",))
    if not where and users_at:
        where = users_at.removesuffix("singleuser") + "hub.config"
    section = _section(path, ResourcePolicy, where, config)
    hub = Config()
    hub.ResourcePolicy.update(section)
    given = _kubespawner_resources(path, where, config, users_at, singleuser)
    for trait, source in given.items():
        hub.KubeSpawner[trait] = source.written
    derived = {}
    if any(source.written is not None for source in given.values()):
        derived = _derived_defaults(path, hub, given)
    charts = _chart_defaults(where, section, given)
    try:
        return _ReadPolicy(ResourcePolicy(config=hub), where, derived, charts)
    except TraitError as error:
        sources = {
            name: f"{source.key} ({source.written})" for name, source in derived.items()
        }
        raise ValuesError(
            f"{path}: {where}.ResourcePolicy: {error}{origins(str(error), sources)}"
        ) from error
    except RecursionError:  # a value nested deeper than any setting takes
        raise ValuesError(
            f"{path}: {where}.ResourcePolicy: nested too deeply"
        ) from None


def _kubespawner_resources(
    path: Path,
    where: str,
    config: dict[str, Any],
    users_at: str,
    singleuser: dict[str, Any],
) -> dict[str, _Source]:
    """KubeSpawner's resource traits as z2jh sets them: from singleuser,
    then hub.config.KubeSpawner over them (null included, as z2jh does)."""
    given: dict[str, _Source] = {}
    for trait, (part, bound) in SINGLEUSER_KEYS.items():
        amounts = singleuser.get(part)
        if isinstance(amounts, dict) and amounts.get(bound) is not None:
            given[trait] = _Source(f"{users_at}.{part}.{bound}", amounts[bound])
    kubespawner = config.get("KubeSpawner") or {}
    if not isinstance(kubespawner, dict):
        raise ValuesError(f"{path}: {where}.KubeSpawner must be a mapping")
    for trait in SINGLEUSER_KEYS:
        if trait in kubespawner:
            key = f"{where}.KubeSpawner.{trait}"
            given[trait] = _Source(key, kubespawner[trait])
    return given


def _derived_defaults(
    path: Path, hub: Config, given: dict[str, _Source]
) -> dict[str, _Source]:
    """Derive ``hub``'s ResourcePolicy defaults as the hub does
    (pyconfig.resources.policy_defaults); those set, with the values key
    each came from."""
    kubespawner = {trait: source.written for trait, source in given.items()}
    try:
        derived = derived_defaults(kubespawner, set(hub.ResourcePolicy))
    except ImportError as error:
        keys = ", ".join(source.key for source in given.values())
        raise ValuesError(
            f"{path}: {keys} set the hub's default resources; reading memory "
            f"amounts as the hub does needs JupyterHub ({error.name} is "
            "missing): run the check in this project's environment (make setup)"
        ) from None
    except (TraitError, ValueError, TypeError) as error:
        keys = ", ".join(source.key for source in given.values())
        raise ValuesError(f"{path}: {keys}: {_one_line(error)}") from None
    hub.ResourcePolicy.update(derived)
    return {name: given[DERIVED[name]] for name in derived}


def load_values_file(path: Path) -> Any:
    """The YAML of a values file; a :class:`ValuesError` for anything else.

    Only a regular file is opened (a FIFO would block forever), and nesting
    too deep for the parser, or aliases that expand past what Helm accepts
    (safe_yaml), are refused rather than eating the machine.
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
        return safe_yaml.load(text, HelmLoader) or {}
    except safe_yaml.UnsafeYAML as error:
        raise ValuesError(f"{path}: {error}") from None
    except FileNotFoundError:  # worded as every command of the project words it
        raise ValuesError(f"{path}: no such values file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ValuesError(f"{path}: cannot read values: {_one_line(error)}") from None
    except RecursionError:
        raise ValuesError(f"{path}: cannot read values: nested too deeply") from None


def _one_line(error: Exception) -> str:
    """An error's message on one line (YAML errors span several)."""
    return " ".join(str(error).split())


def _values_mapping(path: Path) -> dict[str, Any]:
    values = load_values_file(path)
    if not isinstance(values, dict):
        raise ValuesError(f"{path}: a values file must be a mapping at the top")
    return values


def _section(
    path: Path, cls: type[Configurable], where: str, config: dict[str, Any]
) -> dict[str, Any]:
    """hub.config's section for ``cls``; unknown settings refused by name."""
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
    return section


def configurable_from_values(cls: type[C], path: Path) -> C:
    """An instance of a hub class configured by a values file's hub.config."""
    where, config = find_hub_config(_values_mapping(path))
    _known_sections(path, where, config)
    section = _section(path, cls, where, config)
    key = f"{where}.{cls.__name__}"
    try:
        return cls(config=Config({cls.__name__: section}))
    except TraitError as error:
        raise ValuesError(f"{path}: {key}: {error}") from error
    except RecursionError:  # a value nested deeper than any setting takes
        raise ValuesError(f"{path}: {key}: nested too deeply") from None
