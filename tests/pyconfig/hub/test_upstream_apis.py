"""The JupyterHub internals pyconfig relies on stop the hub at start when gone.

Run against each hub image's jupyterhub (make test-matrix). The attribute is
taken off JupyterHub's real ORM class, as a release without it would have it.
"""

from __future__ import annotations

import subprocess
import sys

import jupyterhub
import pytest
from jupyterhub import orm
from traitlets.config import Config

from pyconfig.hub.configure import configure
from pyconfig.hub.spawn_hook import _PREVIOUS
from pyconfig.hub.upstream_apis import INTERNALS, check_upstream_apis, missing
from tests.conftest import ROOT

#: Deletes orm.Spawner.user_options from the real class. SQLAlchemy refuses
#: to un-map a mapped attribute, so it is first replaced by a plain one, as
#: a release that stored user_options elsewhere would have it.
TAKE_AWAY = """
from jupyterhub import orm
setattr(orm.Spawner, "user_options", None)
delattr(orm.Spawner, "user_options")
"""


def take_away_user_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orm.Spawner, "user_options", None)
    monkeypatch.delattr(orm.Spawner, "user_options")
    assert not hasattr(orm.Spawner, "user_options")


def test_this_hubs_jupyterhub_has_every_internal_pyconfig_uses():
    assert missing() == []
    check_upstream_apis()
    configure(Config())


def test_configure_stops_the_hub_naming_a_missing_internal(monkeypatch):
    take_away_user_options(monkeypatch)
    assert [internal.name for internal in missing()] == [INTERNALS[0].name]
    with pytest.raises(RuntimeError) as caught:
        configure(Config())
    message = str(caught.value)
    assert "orm.Spawner.user_options" in message
    assert "private API" in message
    assert f"this hub's jupyterhub {jupyterhub.__version__} lacks" in message
    assert "hub.image.tag" in message and "upgrade pyconfig" in message


def test_a_column_that_is_no_longer_mapped_is_missing_too(monkeypatch):
    monkeypatch.setattr(orm.Spawner, "user_options", property(lambda self: {}))
    with pytest.raises(RuntimeError, match=r"orm\.Spawner\.user_options"):
        configure(Config())


@pytest.mark.slow  # a hub process
def test_the_hub_importing_the_hook_stops_with_the_message():
    """What the hub runs first (hub.extraConfig imports pyconfig.hub): the
    listener is registered at import, after the check."""
    code = TAKE_AWAY + "import pyconfig.hub.configure\n"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: Persistent BinderHub (pyconfig) needs")
    assert "orm.Spawner.user_options" in last
    assert "AttributeError" not in result.stderr


async def test_after_a_check_the_listener_still_sees_replaced_options(
    monkeypatch, make_spawner
):
    """The class is whole again once a test has taken the attribute away."""
    with monkeypatch.context() as patch:
        take_away_user_options(patch)
        assert missing()
    assert missing() == []

    spawner = make_spawner()
    spawner.orm_spawner.user_options = {"a": 1}
    spawner.orm_spawner.user_options = {"b": 2}
    assert vars(spawner.orm_spawner)[_PREVIOUS] == {"a": 1}
