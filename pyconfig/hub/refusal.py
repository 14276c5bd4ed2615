"""The one exception that refuses a launch, whoever refuses it."""

from __future__ import annotations

from tornado import web


class LaunchRefused(web.HTTPError):
    """A launch the hub will not start; its message reaches the BinderHub page.

    JupyterHub's REST API answers with ``log_message``; its HTML pages show
    ``jupyterhub_message``. Both carry the same text. ``why`` labels the
    refusal in the metrics: resources, quota, total, fetch, storage, ssh_key
    or cluster_full.
    """

    def __init__(self, message: str, why: str = "resources"):
        super().__init__(400, "%s", message, reason="Launch refused")
        self.jupyterhub_message = message
        self.why = why
