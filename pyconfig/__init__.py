"""Persistent BinderHub: the `.resources` contract, the hub integration, the tools.

- :mod:`pyconfig.resources`: what a repository may ask for and what it gets
  (schema, parser, policy, effective resources, KubeSpawner settings);
- :mod:`pyconfig.hub`: what runs inside JupyterHub (``configure(c)``, the
  spawn hook, quota, storage, SSH keys, the home page);
- :mod:`pyconfig.binder`: what runs inside BinderHub (``configure(c)``: a
  failed launch told once);
- :mod:`pyconfig.admin`: the command line (``python -m pyconfig``).

The first two import only the standard library and the hub image's
packages, the third the binder image's; the chart ships them, and not the
admin tools, into the pods.
"""

__version__ = "0.1.0"
