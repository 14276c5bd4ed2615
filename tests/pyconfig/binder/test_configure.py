"""pyconfig/binder/configure.py on a real traitlets Config, in BinderHub's
own Python (conftest.py), as binderhub_config.py calls it. What the
pages then show is tested in Chromium in
tests/end_to_end/test_binderhub_launch.py."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # BinderHub's own Python, in a process

CONFIGURED = """
import json, sys
from traitlets.config import Config
from pyconfig.binder.configure import configure
c = Config(json.load(sys.stdin))
configure(c)
configure(c)  # binderhub_config.py may run twice: nothing is added twice
b = c.BinderHub
print(json.dumps({"banner": b.get("banner_message"), "header": b.extra_header_html,
                  "footer": b.extra_footer_scripts,
                  "template_path": b.get("template_path")}))
"""


def test_our_style_and_script_join_the_admins_own(in_binderhub):
    got = in_binderhub(
        CONFIGURED,
        {
            "BinderHub": {
                "hub_url": "https://hub.example.org/",
                "banner_message": "Maintenance <b>Friday</b>",
                "extra_header_html": {"analytics": "<meta name=x content=y>"},
                "extra_footer_scripts": {"analytics": "console.log(1)"},
            }
        },
    )
    page_js = (ROOT / "pyconfig/binder/page.js").read_text()
    page_css = (ROOT / "pyconfig/binder/page.css").read_text()
    assert got["footer"] == {
        "analytics": "console.log(1)",
        "persistent-binderhub": page_js,
    }
    assert got["header"] == {
        "analytics": "<meta name=x content=y>",
        "persistent-binderhub": f"<style>\n{page_css}</style>",
    }
    assert got["banner"].count('class="pbh-hub-links"') == 1
    assert got["banner"].endswith("<div>Maintenance <b>Friday</b></div>")
    assert 'href="https://hub.example.org/hub/home"' in got["banner"]
    assert got["template_path"] == str(ROOT / "pyconfig" / "binder")


def test_an_admins_own_page_template_is_kept(in_binderhub, tmp_path):
    """The binderhub chart always sets /etc/binderhub/templates: ours
    replaces it unless the admin put a page.html there."""
    empty = in_binderhub(CONFIGURED, {"BinderHub": {"template_path": str(tmp_path)}})
    assert empty["template_path"] == str(ROOT / "pyconfig" / "binder")
    (tmp_path / "page.html").write_text("{% extends 'templates/page.html' %}")
    theirs = in_binderhub(CONFIGURED, {"BinderHub": {"template_path": str(tmp_path)}})
    assert theirs["template_path"] == str(tmp_path)


def test_the_style_cannot_close_its_element_and_the_script_parses():
    """page.css goes inside a <style> element; page.js is checked by Node's
    own parser (the pages run it in Chromium)."""
    assert "</" not in (ROOT / "pyconfig/binder/page.css").read_text()
    node = shutil.which("node")
    assert node, "Node.js is installed by .ci/run and make setup"
    result = subprocess.run(
        [node, "--check", str(ROOT / "pyconfig/binder/page.js")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
