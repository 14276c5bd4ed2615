"""Render docs/resources.md from the schema and the parser's own messages.

Every key, default and bound comes from schemas/resources.schema.json, and
every error message shown is produced by running the checker on the example,
so the page cannot say something the code does not do. docs/settings.md
comes from the pyconfig classes the same way, and the chart settings table
of docs/admins.md (the rest of that page is written by hand) from
chart/values.schema.json.

    python tools/render_docs.py          # write docs/
    python tools/render_docs.py --check  # exit 1 if docs/ is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyconfig.hub.namespace_quota import NamespaceQuota
from pyconfig.hub.quota import ServerQuota
from pyconfig.hub.repo_files import RepoFileFetcher
from pyconfig.hub.repository_resources import RepositoryResources
from pyconfig.hub.ssh_keys import SSHKeys
from pyconfig.hub.storage import UserStorage
from pyconfig.resources.effective import evaluate
from pyconfig.resources.parser import MAX_BYTES
from pyconfig.resources.policy import ResourcePolicy
from pyconfig.resources.problems import ProblemKind, ResourcesError
from pyconfig.resources.schema import resources_schema
from tools.render_schema import help_parts

TEMPLATES = ROOT / "docs" / "templates"
#: The classes an admin configures, in the order the settings page lists them.
CONFIGURABLES = (
    ResourcePolicy,
    ServerQuota,
    NamespaceQuota,
    RepositoryResources,
    RepoFileFetcher,
    UserStorage,
    SSHKeys,
)
PAGES = {
    "resources.md.j2": ROOT / "docs" / "resources.md",
    "settings.md.j2": ROOT / "docs" / "settings.md",
}


def error_examples() -> list[dict[str, str]]:
    """Each problem kind with its example line and the message it really gives."""
    rows = []
    for kind in ProblemKind:
        example = kind.example
        literal = example is not None
        if example is None:
            example = b"#" * (MAX_BYTES + 1)
            shown = f"a file of {MAX_BYTES + 1} bytes"
        elif isinstance(example, bytes):
            shown = example.decode("utf-8", "backslashreplace").strip()
        else:
            shown = example
        try:
            evaluate(example, ResourcePolicy())
        except ResourcesError as error:
            message = next(p.message for p in error.problems if p.kind is kind)
        else:  # pragma: no cover - tests keep every example failing
            raise SystemExit(f"example for {kind.name} raised no problem")
        rows.append(
            {
                "code": kind.code,
                "title": kind.title,
                "example": shown,
                "literal": literal,
                "message": message,
            }
        )
    return rows


def settings_sections() -> list[dict[str, object]]:
    """Each configurable class: its name, why it exists, and every setting."""
    sections = []
    for cls in CONFIGURABLES:
        instance = cls()
        settings = [
            {
                "name": name,
                "type": type(trait).__name__,
                "default": json.dumps(getattr(instance, name)),
                "help": help_parts(trait)[0].replace("|", "\\|"),
                "example": help_parts(trait)[1],
            }
            for name, trait in sorted(instance.traits(config=True).items())
            if name not in {"config", "log", "parent"}
        ]
        doc = " ".join((cls.__doc__ or "").split())
        sections.append({"name": cls.__name__, "doc": doc, "settings": settings})
    return sections


def values_rows() -> list[dict[str, str]]:
    """One row per leaf setting of persistentBinderhub, from the chart schema."""
    schema = json.loads((ROOT / "chart" / "values.schema.json").read_text())
    defaults = yaml.safe_load((ROOT / "chart" / "values.yaml").read_text())
    rows: list[dict[str, str]] = []

    def walk(node: dict, default: object, path: str) -> None:
        children = node.get("properties")
        if children and node.get("type") == "object":
            for key, child in children.items():
                sub = default.get(key) if isinstance(default, dict) else None
                walk(child, sub, f"{path}.{key}")
            return
        kind = node.get("type") or ("one of " + ", ".join(node.get("enum", [])))
        rows.append(
            {
                "key": path,
                "type": kind if isinstance(kind, str) else " or ".join(kind),
                "default": json.dumps(default),
                "description": " ".join(node.get("description", "").split()),
            }
        )

    walk(
        schema["properties"]["persistentBinderhub"],
        defaults["persistentBinderhub"],
        "persistentBinderhub",
    )
    return rows


#: The admin guide, whose chart settings table sits between these markers.
ADMINS_PAGE = ROOT / "docs" / "admins.md"
ADMINS_START = (
    "<!-- values table: generated by `make docs` from chart/values.schema.json -->"
)
ADMINS_END = "<!-- end of values table -->"


def admins_text() -> str:
    """docs/admins.md with its values table rendered anew."""
    page = ADMINS_PAGE.read_text(encoding="utf-8")
    head, start, rest = page.partition(ADMINS_START)
    _, end, tail = rest.partition(ADMINS_END)
    if not (start and end):
        raise SystemExit(
            f"{ADMINS_PAGE.relative_to(ROOT)} lost its values table markers: "
            f"put {ADMINS_START} and {ADMINS_END} back where the table goes"
        )
    lines = ["| key | type | default | what it does |", "|---|---|---|---|"]
    lines += [
        f"| `{r['key']}` | {r['type']} | `{r['default']}` | {r['description']} |"
        for r in values_rows()
    ]
    return f"{head}{ADMINS_START}\n" + "\n".join(lines) + f"\n{ADMINS_END}{tail}"


def render(template_name: str) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    policy = ResourcePolicy()
    return env.get_template(template_name).render(
        schema=resources_schema(),
        sections=settings_sections(),
        errors=error_examples(),
        policy=policy,
        max_bytes=MAX_BYTES,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if stale")
    args = parser.parse_args(argv)
    stale = []
    outputs = {target: render(name) for name, target in PAGES.items()}
    outputs[ADMINS_PAGE] = admins_text()
    for target, text in outputs.items():
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    for target in stale:
        print(f"{target.relative_to(ROOT)} is stale: run `make docs`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
