"""Install Persistent BinderHub into BinderHub's configuration: ``configure(c)``.

Called from the chart's short binderhub ``extraConfig`` snippet, while
``binderhub_config.py`` runs, which is inside ``BinderHub.initialize``
before it builds its launcher.
"""

from __future__ import annotations

from typing import Any

import binderhub.app

from .launcher import FailureOnceLauncher


def configure(c: Any) -> None:
    """Launch through :class:`FailureOnceLauncher`. ``c`` is BinderHub's
    config; nothing in it changes (the ``c.Launcher`` section keeps
    applying)."""
    binderhub.app.Launcher = FailureOnceLauncher
