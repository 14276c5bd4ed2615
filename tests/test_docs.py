"""docs/resources.md is generated from the schema and must not go stale."""

from __future__ import annotations

import subprocess
import sys

from pyconfig.problems import ProblemKind
from pyconfig.schema import resource_keys

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


def test_admin_page_lists_every_policy_setting_with_its_help():
    from pyconfig.policy import ResourcePolicy

    text = (ROOT / "docs" / "resource-policy.md").read_text(encoding="utf-8")
    for name, trait in ResourcePolicy.class_traits(config=True).items():
        assert f"| `{name}` |" in text
        assert " ".join(trait.help.split()) in text
