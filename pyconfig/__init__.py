"""Persistent BinderHub: configuration that runs inside the JupyterHub hub.

Imports only the standard library and the hub image's packages, so the chart
can ship these files as they are and the hub can load them.
"""

__version__ = "0.1.0"
