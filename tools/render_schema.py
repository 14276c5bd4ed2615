"""Generate chart/values.schema.json from schemas/values.schema.yaml.

Order is kept (ruamel.yaml), so the JSON reads like its source. A section
marked ``x-traitlets: module.Class`` is filled from that traitlets class: one
property per configurable trait, with its type, default and help, and the
bounds of its ``schema`` tag; unknown settings are refused.

    python tools/render_schema.py          # write chart/values.schema.json
    python tools/render_schema.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from traitlets import Bool, Dict, Enum, Float, Int, List, TraitType, Unicode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SOURCE = ROOT / "schemas" / "values.schema.yaml"
TARGET = ROOT / "chart" / "values.schema.json"
#: What `pyconfig check --values` holds a values file to, in the wheel:
#: hub.config's sections and the chart's own singleuser resources.
RULES = ROOT / "pyconfig" / "admin" / "chart-rules.json"


def help_parts(trait: TraitType) -> tuple[str, str | None]:
    """A trait's help as (prose on one line, its example or None).

    An example is a literal block after ``::``, as KubeSpawner's help
    writes them: chart values in YAML, from the top of the values file.
    """
    prose, marker, example = (trait.help or "").partition("::")
    prose = " ".join(prose.split()) + ("." if marker else "")
    return prose, textwrap.dedent(example).strip() + "\n" if marker else None


def example_value(trait: TraitType, example: str) -> Any:
    """The trait's value in its help's example (values YAML)."""
    node = YAML(typ="safe").load(example)
    while isinstance(node, dict) and trait.name not in node:
        [node] = node.values()  # one path down to the trait's class
    return node[trait.name]


def trait_schema(trait: TraitType, default: Any) -> dict[str, Any]:
    """JSON Schema of one trait (the types our classes use)."""
    if isinstance(trait, Enum):
        schema: dict[str, Any] = {"enum": list(trait.values)}
    elif isinstance(trait, Bool):
        schema = {"type": "boolean"}
    elif isinstance(trait, Int):
        schema = {"type": "integer"}
    elif isinstance(trait, Float):
        schema = {"type": "number"}
    elif isinstance(trait, Unicode):
        schema = {"type": "string"}
    elif isinstance(trait, Dict):
        schema = {"type": "object"}
    elif isinstance(trait, List):
        item = trait._trait
        schema = {"type": "array"}
        if item is not None:
            schema["items"] = trait_schema(item, None)
    else:
        raise TypeError(f"no JSON Schema type for {type(trait).__name__}")
    schema.update(trait.metadata.get("schema", {}))
    prose, example = help_parts(trait)
    if prose:
        schema["description"] = prose
    if example:
        schema["examples"] = [example_value(trait, example)]
    if default is not None:
        schema["default"] = default
    return schema


def class_schema(dotted: str) -> dict[str, Any]:
    module, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    instance = cls()
    return {
        "type": "object",
        "additionalProperties": False,
        "description": " ".join((cls.__doc__ or "").split())
        + " All settings: docs/settings.md.",
        "properties": {
            trait_name: trait_schema(trait, getattr(instance, trait_name))
            for trait_name, trait in instance.traits(config=True).items()
            if trait_name not in {"config", "log", "parent"}
        },
    }


#: Where the hub image's configurable classes live (FACTS.md, section 1);
#: each module is imported and every Configurable subclass it defines counts.
HUB_MODULES = (
    "jupyterhub",
    "kubespawner",
    "oauthenticator",
    "traitlets.config",
)
#: Classes of the hub image that are not installed here (its extra
#: authenticators), and BinderSpawner, which the binderhub chart defines in
#: its hub.extraConfig.
HUB_CLASSES_NOT_INSTALLED = {
    "BinderSpawner": "binderhub chart's spawner (hub.extraConfig 00-binder).",
    "FirstUseAuthenticator": "jupyterhub-firstuseauthenticator, in the hub image.",
    "HMACAuthenticator": "jupyterhub-hmacauthenticator, in the hub image.",
    "LDAPAuthenticator": "jupyterhub-ldapauthenticator, in the hub image.",
    "LTI11Authenticator": "jupyterhub-ltiauthenticator, in the hub image.",
    "LTI13Authenticator": "jupyterhub-ltiauthenticator, in the hub image.",
    "MWOAuthenticator": "oauthenticator.mediawiki (needs mwoauth), in the hub image.",
    "NativeAuthenticator": "jupyterhub-nativeauthenticator, in the hub image.",
    "TmpAuthenticator": "jupyterhub-tmpauthenticator, in the hub image.",
}


def hub_classes() -> dict[str, str]:
    """Name -> module of every configurable class the hub can be given."""
    import pkgutil

    from traitlets.config import Configurable

    for top in HUB_MODULES:
        package = importlib.import_module(top)
        for info in pkgutil.walk_packages(package.__path__, f"{top}."):
            parts = info.name.split(".")
            if {"tests", "alembic", "singleuser", "__main__"} & set(parts):
                continue  # test code, migrations, and entry points that run
            try:
                importlib.import_module(info.name)
            except ImportError:  # optional extras the hub image may lack
                continue
    found: dict[str, str] = {}
    stack = [Configurable]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            # jupyterhub.singleuser runs in notebooks, not in the hub (it is
            # imported here only where jupyter_server is installed).
            if (
                sub.__module__.startswith(HUB_MODULES)
                and ".singleuser" not in sub.__module__
                and not sub.__name__.startswith("_")
            ):
                found.setdefault(sub.__name__, sub.__module__)
    return found


def configurable_classes(node: dict[str, Any]) -> dict[str, Any]:
    """hub.config: our sections as given, every other hub class as an open
    object, anything else refused (a misspelled class is otherwise ignored)."""
    properties = {key: expand(value) for key, value in node["properties"].items()}
    known = {
        name: f"Settings of {module}.{name}." for name, module in hub_classes().items()
    }
    known.update(
        {
            name: f"Settings of {what}"
            for name, what in HUB_CLASSES_NOT_INSTALLED.items()
        }
    )
    for name in sorted(known):
        properties.setdefault(name, {"type": "object", "description": known[name]})
    rest = {
        k: expand(v)
        for k, v in node.items()
        if k not in ("x-configurable-classes", "properties")
    }
    return {**rest, "additionalProperties": False, "properties": properties}


def expand(node: Any) -> Any:
    if isinstance(node, dict):
        if "x-traitlets" in node:
            return class_schema(node["x-traitlets"])
        if node.get("x-configurable-classes"):
            return configurable_classes(node)
        return {key: expand(value) for key, value in node.items()}
    if isinstance(node, list):
        return [expand(item) for item in node]
    return node


def render() -> str:
    source = YAML(typ="rt").load(SOURCE.read_text(encoding="utf-8"))
    plain = json.loads(json.dumps(source))  # ruamel's ordered types -> plain
    return json.dumps(expand(plain), indent=2) + "\n"


def rules(schema: str) -> str:
    """The names hub.config accepts, as the rendered schema lists them, and
    the singleuser cpu and memory chart/values.yaml gives notebooks."""
    node = json.loads(schema)
    for key in ("binderhub", "jupyterhub", "hub", "config"):
        node = node["properties"][key]
    values = YAML(typ="safe").load((ROOT / "chart" / "values.yaml").read_text())
    singleuser = values["binderhub"]["jupyterhub"]["singleuser"]
    found = {
        "hub_config_sections": sorted(node["properties"]),
        "singleuser": {part: singleuser[part] for part in ("cpu", "memory")},
    }
    return json.dumps(found, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if stale")
    args = parser.parse_args(argv)
    text = render()
    outputs = {TARGET: text, RULES: rules(text)}
    if args.check:
        stale = [
            path.relative_to(ROOT)
            for path, wanted in outputs.items()
            if not path.exists() or path.read_text(encoding="utf-8") != wanted
        ]
        for path in stale:
            print(f"{path} is stale: run `make schema`", file=sys.stderr)
        return 1 if stale else 0
    for path, wanted in outputs.items():
        path.write_text(wanted, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
