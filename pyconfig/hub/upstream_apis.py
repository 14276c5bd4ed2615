"""The JupyterHub internals pyconfig relies on, checked when the hub starts.

The hub code uses JupyterHub's public APIs where it has them (``Spawner.pending``,
``Spawner.delete_forever``, ``Spawner.user``/``name``). One thing has no public
API: to put a server's launch record back after a refused relaunch, the spawn
hook must know the ``user_options`` the hub replaced just before it ran, and
only an SQLAlchemy ``set`` listener on ``orm.Spawner.user_options`` sees them
(spawn_hook.listen_for_replaced_options). Admins may run a newer hub image
than the chart pins (``hub.image.tag``); if such an internal is gone there,
the hub stops at its start, not at a user's launch: ``check_upstream_apis()``,
called before the listener is registered (when the hub imports the spawn
hook) and by ``configure(c)``, raises a RuntimeError that names it.

Tested against the hub images of z2jh 4.2.0 and 4.4.0 (``make test-matrix``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jupyterhub
from jupyterhub import orm
from sqlalchemy import inspect as sqlalchemy_inspect
from sqlalchemy.orm import ColumnProperty, InstrumentedAttribute

#: The jupyterhub releases (hub images of z2jh 4.2.0 to 4.4.0) that have them.
TESTED = "jupyterhub 5.3-5.5 (z2jh 4.2.0-4.4.0)"


@dataclass(frozen=True)
class Internal:
    """One JupyterHub internal: its name, what uses it and how to see it."""

    name: str
    used_by: str
    present: Callable[[], bool]


def _user_options_column() -> bool:
    attribute = getattr(orm.Spawner, "user_options", None)
    if not isinstance(attribute, InstrumentedAttribute):
        return False
    prop = sqlalchemy_inspect(orm.Spawner).attrs.get("user_options")
    return isinstance(prop, ColumnProperty)


INTERNALS = (
    Internal(
        "orm.Spawner.user_options as a mapped SQLAlchemy column attribute",
        "the spawn hook's 'set' listener, which keeps a server's launch record "
        "when a relaunch is refused",
        _user_options_column,
    ),
)


def missing(internals: tuple[Internal, ...] = INTERNALS) -> list[Internal]:
    """The internals this hub's jupyterhub lacks."""
    return [internal for internal in internals if not internal.present()]


def check_upstream_apis(internals: tuple[Internal, ...] = INTERNALS) -> None:
    """Raise a RuntimeError naming each internal this hub's jupyterhub lacks."""
    gone = missing(internals)
    if not gone:
        return
    names = "; ".join(f"{item.name} (for {item.used_by})" for item in gone)
    raise RuntimeError(
        f"Persistent BinderHub (pyconfig) needs jupyterhub's {names}: a private "
        f"API, present in {TESTED}, which this hub's jupyterhub "
        f"{jupyterhub.__version__} lacks. Run a hub image pyconfig was tested "
        "with (hub.image.tag of z2jh 4.2.0 to 4.4.0) or upgrade pyconfig."
    )
