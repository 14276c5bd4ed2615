"""The tree depends one way, and so do the folders of pyconfig/.

Around the wheel: ``pyconfig`` <- ``fakes`` (the simulated cluster) <-
``offline`` (the release on one machine) <- ``tools`` (build and lint
helpers) <- ``benchmarks`` and ``ci`` <- ``tests``. Nothing imports
``tests``, so a helper that a benchmark or the demo needs lives where they
can reach it.

Inside pyconfig/: admin -> hub -> resources, and binder alone. The
`.resources` contract (resources/) needs no hub and no admin tool, so
authors run it alone; the hub integration (hub/) never needs an admin tool,
which the chart does not ship; and neither reaches past the hub image's
packages. What runs in BinderHub (binder/) needs none of the others and
reaches only the binder image's packages. Read from the source, so a new
import anywhere is held to it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "pyconfig"
#: Folder -> the other folders it may import from.
ALLOWED = {
    "resources": set(),
    "hub": {"resources"},
    "binder": set(),
    "admin": {"resources", "hub"},
}
#: The hub image's packages (requirements/hub.txt, with the dependencies
#: the hub code imports directly) by import name.
HUB_IMAGE = {
    "jupyterhub",
    "kubespawner",
    "oauthenticator",
    "kubernetes_asyncio",
    "jsonschema",
    "ruamel",
    "jinja2",
    "cryptography",
    "yaml",
    "tornado",
    "traitlets",
    "sqlalchemy",
    "prometheus_client",
    "pycurl",
}
#: The binder image's packages (requirements/binderhub.txt) the binder code
#: may import, by import name.
BINDER_IMAGE = {"binderhub", "tornado", "traitlets"}
IMAGE = {"resources": HUB_IMAGE, "hub": HUB_IMAGE, "binder": BINDER_IMAGE}


def imported(path: Path, root: Path = ROOT) -> set[str]:
    """Dotted names of the modules a file imports, relative ones resolved."""
    module = ".".join(path.relative_to(root).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            names.add(name)
            names.update(f"{name}.{alias.name}" for alias in node.names)
    return names


#: Top-level folder -> the top-level folders it may import from.
TREE = {
    "pyconfig": set(),
    "fakes": {"pyconfig"},
    "offline": {"pyconfig", "fakes"},
    "tools": {"pyconfig", "fakes", "offline"},
    "benchmarks": {"pyconfig", "fakes", "offline", "tools"},
    "ci": {"pyconfig", "fakes", "offline", "tools"},
    "tests": {"pyconfig", "fakes", "offline", "tools", "benchmarks", "ci"},
}


def top_level_imports(path: Path) -> set[str]:
    """The top-level folders of this tree that a file imports from."""
    return {name.split(".")[0] for name in imported(path)} & set(TREE)


@pytest.mark.parametrize("top", sorted(TREE))
def test_the_tree_depends_one_way(top):
    files = sorted((ROOT / top).rglob("*.py"))
    assert files
    for path in files:
        where = str(path.relative_to(ROOT))
        allowed = TREE[top] | {top}
        reached = top_level_imports(path)
        assert reached <= allowed, f"{where} imports {sorted(reached - allowed)}"


def test_a_backward_import_is_seen(tmp_path):
    probe = tmp_path / "fakes" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from offline.chart import NAMESPACE\nimport tests.conftest\n")
    names = imported(probe, root=tmp_path)
    assert {n.split(".")[0] for n in names} & set(TREE) == {"offline", "tests"}


def folder_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "pyconfig" and len(parts) > 1 else None


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_each_folder_imports_only_the_folders_below_it(folder):
    files = sorted((PACKAGE / folder).glob("*.py"))
    assert files
    for path in files:
        reached = {folder_of(n) for n in imported(path)} & set(ALLOWED)
        assert reached <= ALLOWED[folder] | {folder}, path


@pytest.mark.parametrize("folder", sorted(IMAGE))
def test_what_a_pod_runs_imports_the_standard_library_and_its_image(folder):
    for path in [PACKAGE / "__init__.py", *sorted((PACKAGE / folder).glob("*.py"))]:
        for name in imported(path):
            top = name.split(".")[0]
            assert (
                top in sys.stdlib_module_names
                or top in IMAGE[folder]
                or top in ("pyconfig", "__future__")
            ), f"{path.relative_to(ROOT)} imports {name}"


def test_a_forbidden_import_is_seen(tmp_path):
    """The check reads relative imports too (so it can fail)."""
    probe = tmp_path / "pyconfig" / "hub" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from ..admin.cli import main\nfrom . import quota\n")
    names = imported(probe, root=tmp_path)
    assert {"pyconfig.admin.cli", "pyconfig.hub.quota"} <= names
    assert {folder_of(n) for n in names} == {"admin", "hub"}


#: Test folders that mirror no folder of the tree: the service end to end.
WHOLE_SERVICE = {"end_to_end"}
#: What tests/ holds besides test folders: shared fixtures and helpers.
TEST_SUPPORT = {
    "__init__.py",
    "conftest.py",
    "identities.py",
    "phone.py",
    "axe.py",
    "data",
}


def test_tests_mirror_the_tree():
    """A test module sits in the folder of what it tests: tests/pyconfig/hub/
    for pyconfig/hub/, tests/fakes/ for fakes/, and so on; only the tree's own
    layout test and the end-to-end tests stand apart."""
    tests = ROOT / "tests"
    for path in sorted(tests.rglob("test_*.py")):
        folder = path.parent.relative_to(tests)
        if folder == Path("."):
            assert path.name == "test_layout.py", f"{path.name} needs a folder"
            continue
        mirrored = ROOT / folder
        assert folder.parts[0] in WHOLE_SERVICE or mirrored.is_dir(), (
            f"tests/{folder} mirrors no folder of the tree"
        )
    for entry in sorted(tests.iterdir()):
        if entry.name in ("__pycache__", "test_layout.py"):
            continue
        if entry.is_dir() and entry.name not in TEST_SUPPORT:
            continue
        assert entry.name in TEST_SUPPORT, f"tests/{entry.name}: put it in a folder"
