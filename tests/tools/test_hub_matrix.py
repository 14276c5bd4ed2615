"""tools/hub_matrix.py: make test-matrix's lock is the suite's, less what the
other hub image pins differently."""

from __future__ import annotations

from tests.conftest import ROOT
from tools.hub_matrix import lock_for, pins

REQUIREMENTS = ROOT / "requirements"


def test_only_the_pins_the_hub_file_changes_leave_the_lock():
    hub = "# comment\nJupyterHub==5.5.0\nkubernetes-asyncio==32.3.0\nnew-one==1\n"
    lock = "# lock\njupyterhub==5.3.0\nkubernetes_asyncio==32.3.0\nPyYAML==6.0.2\n"
    assert lock_for(hub, lock) == "# lock\nkubernetes_asyncio==32.3.0\nPyYAML==6.0.2\n"


def test_the_z2jh_4_4_0_lock_differs_from_the_suites_in_the_hub_packages_only():
    hub = (REQUIREMENTS / "hub-z2jh-4.4.0.txt").read_text()
    lock = (REQUIREMENTS / "constraints.txt").read_text()
    kept = pins(lock_for(hub, lock))
    dropped = set(pins(lock)) - set(kept)
    assert dropped == {"jupyterhub", "oauthenticator"}
    assert all(
        kept.get(name, version) == version for name, version in pins(hub).items()
    )


def test_the_hub_files_pin_the_same_packages():
    """Same shape: only versions differ between the two hub images."""
    old = pins((REQUIREMENTS / "hub.txt").read_text())
    new = pins((REQUIREMENTS / "hub-z2jh-4.4.0.txt").read_text())
    assert set(old) == set(new)
    assert new["jupyterhub"] == "5.5.0" and new["oauthenticator"] == "17.4.0"
