"""The docs' pictures are the page as it is now (`make screenshots`)."""

from __future__ import annotations

import re
import shutil
import struct

from tests.conftest import ROOT
from tools import screenshots


def test_the_pictures_show_the_current_page():
    assert screenshots.recorded()["fingerprint"] == screenshots.fingerprint(), (
        "docs/img is stale: the page or the tests that stage it changed since "
        "the pictures were taken. Run `make screenshots` and commit docs/img."
    )
    assert screenshots.recorded()["images"] == sorted(screenshots.SCENES)


def copy_inputs(root):
    files = {*screenshots.INPUTS, *(path for path, _ in screenshots.SCENES.values())}
    for path in files:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / path, root / path)


def test_a_change_to_the_page_or_a_scene_makes_them_stale(tmp_path):
    copy_inputs(tmp_path)
    now = screenshots.fingerprint(tmp_path)
    assert now == screenshots.fingerprint()
    template = tmp_path / "pyconfig/hub/home.html"
    template.write_text(template.read_text().replace("Your notebooks", "Notebooks"))
    assert screenshots.fingerprint(tmp_path) != now
    copy_inputs(tmp_path)
    # An edit to another test in a scene's file leaves the pictures current;
    # an edit to the scene's own test does not.
    path, function = screenshots.SCENES["home-1280.png"]
    scene = tmp_path / path
    scene.write_text(scene.read_text() + "\n\ndef test_other():\n    pass\n")
    assert screenshots.fingerprint(tmp_path) == now
    text = scene.read_text()
    start = text.index(f"def {function}(")
    edited = text[:start] + text[start:].replace('"judy"', '"jude"', 1)
    scene.write_text(edited)
    assert screenshots.fingerprint(tmp_path) != now


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_every_picture_the_docs_show_is_taken_at_its_width():
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    shown = {
        name
        for doc in docs
        for name in re.findall(
            r"[(\"](?:docs/)?img/([^)\"]+\.png)[)\"]", doc.read_text()
        )
    }
    assert shown and shown <= set(screenshots.SCENES), shown
    for name in screenshots.SCENES:
        width, _ = png_size(screenshots.IMAGES / name)
        assert width == int(re.search(r"-(\d+)\.png$", name)[1]), (name, width)
