"""Render docs/resources.md from the schema and the parser's own messages.

Every key, default and bound comes from schemas/resources.schema.json, and
every error message shown is produced by running the checker on the example,
so the page cannot say something the code does not do.

    python tools/render_docs.py          # write docs/
    python tools/render_docs.py --check  # exit 1 if docs/ is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jinja2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyconfig.effective import evaluate
from pyconfig.launch_resources import RepositoryResources
from pyconfig.policy import ResourcePolicy
from pyconfig.problems import ProblemKind, ResourcesError
from pyconfig.repo_files import RepoFileFetcher
from pyconfig.resources_file import MAX_BYTES
from pyconfig.schema import resources_schema
from pyconfig.ssh_keys import SSHKeys
from pyconfig.storage import UserStorage

TEMPLATES = ROOT / "docs" / "templates"
#: The classes an admin configures, in the order the settings page lists them.
CONFIGURABLES = (
    ResourcePolicy,
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
                "help": " ".join(trait.help.split()).replace("|", "\\|"),
            }
            for name, trait in sorted(instance.traits(config=True).items())
            if name not in {"config", "log", "parent"}
        ]
        doc = " ".join((cls.__doc__ or "").split())
        sections.append({"name": cls.__name__, "doc": doc, "settings": settings})
    return sections


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
    for template_name, target in PAGES.items():
        text = render(template_name)
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
