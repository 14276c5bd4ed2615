"""`make screenshots`: the docs' pictures, taken by the browser tests.

The pictures in docs/img/ come from the Chromium tests that stage them (a
real hub and BinderHub, real launches); this runs those tests and copies
what they saved. docs/img/screenshots.json records a fingerprint of what the
pictures show: the page's template and code, the upstream versions that
style it, and the test code that stages each scene. tests/tools/test_screenshots.py
fails when the fingerprint no longer matches, so a change to the page
cannot leave an old picture in the docs.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "img"
MANIFEST = IMAGES / "screenshots.json"
TAKEN = ROOT / "build" / "screenshots"  # where the tests save them

#: Each picture in docs/img: the test that takes it (file, function).
SCENES = {
    "home-1280.png": (
        "tests/end_to_end/test_hub_process.py",
        "test_in_a_browser_the_user_sees_stops_and_deletes_servers",
    ),
    "home-390.png": (
        "tests/end_to_end/test_hub_process.py",
        "test_in_a_browser_the_user_sees_stops_and_deletes_servers",
    ),
    "binderhub-quota-1280.png": (
        "tests/end_to_end/test_binderhub_launch.py",
        "test_in_a_browser_a_launch_lands_in_the_notebook_and_the_quota_shows_once",
    ),
    "binderhub-refusal-390.png": (
        "tests/end_to_end/test_binderhub_launch.py",
        "test_every_page_a_user_meets_passes_wcag_aa_and_a_refusal_is_told_once",
    ),
}

#: Files whose content shows in the pictures: the home page, its words, the
#: quota message BinderHub shows, our style and script on BinderHub's pages,
#: and the pinned hub and BinderHub releases
#: (their templates and styles).
INPUTS = (
    "pyconfig/hub/home.html",
    "pyconfig/hub/home_page.py",
    "pyconfig/hub/launch_record.py",
    "pyconfig/hub/quota.py",
    "pyconfig/hub/refusal.py",
    "pyconfig/binder/configure.py",
    "pyconfig/binder/launcher.py",
    "pyconfig/binder/page.css",
    "pyconfig/binder/page.js",
    "requirements/hub.txt",
    "requirements/binderhub.txt",
)


def scene_source(root: Path, path: str, function: str) -> str:
    """The source of one test function (not its whole file, so an unrelated
    test's edit does not make every picture stale)."""
    text = (root / path).read_text()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return ast.get_source_segment(text, node) or ""
    raise LookupError(f"{path}: no test {function} (tools/screenshots.py SCENES)")


def fingerprint(root: Path = ROOT) -> str:
    """A digest of everything the pictures show."""
    digest = hashlib.sha256()
    for path in INPUTS:
        digest.update(f"{path}\0".encode() + (root / path).read_bytes() + b"\0")
    for scene in sorted(set(SCENES.values())):
        digest.update(f"{scene}\0{scene_source(root, *scene)}\0".encode())
    return digest.hexdigest()


def recorded() -> dict[str, object]:
    return json.loads(MANIFEST.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    tests = sorted({f"{path}::{name}" for path, name in SCENES.values()})
    for name in SCENES:
        (TAKEN / name).unlink(missing_ok=True)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        check=False,
    )
    if run.returncode != 0:
        print("screenshots: the tests that take them failed", file=sys.stderr)
        return 1
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in SCENES:
        shutil.copyfile(TAKEN / name, IMAGES / name)
    manifest = {"fingerprint": fingerprint(), "images": sorted(SCENES)}
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"screenshots: {len(SCENES)} pictures in {IMAGES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
