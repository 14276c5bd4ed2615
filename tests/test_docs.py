"""docs/resources.md is generated from the schema and must not go stale."""

from __future__ import annotations

import subprocess
import sys

from pyconfig.resources.problems import ProblemKind
from pyconfig.resources.schema import resource_keys

from .conftest import ROOT

PAGE = ROOT / "docs" / "resources.md"


def test_docs_are_fresh():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "render_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_docs_name_every_key_and_every_error_class():
    text = PAGE.read_text(encoding="utf-8")
    for key in resource_keys():
        assert f"| `{key}` |" in text
    for kind in ProblemKind:
        assert f"(`{kind.code}`)" in text


def test_docs_say_exactly_what_a_gb_is():
    assert "1 GB = 1024³ bytes" in PAGE.read_text(encoding="utf-8")


def test_settings_page_lists_every_setting_of_every_class_with_its_help():
    sys.path.insert(0, str(ROOT / "tools"))
    from render_docs import CONFIGURABLES

    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for cls in CONFIGURABLES:
        assert f"## `{cls.__name__}`" in text
        for name, trait in cls.class_traits(config=True).items():
            assert f"| `{name}` |" in text, (cls.__name__, name)
            assert len(trait.help) > 20, f"{cls.__name__}.{name} needs help text"
            assert " ".join(trait.help.split()).replace("|", "\\|") in text
