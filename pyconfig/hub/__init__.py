"""The hub integration: what runs inside JupyterHub, loaded by ``configure(c)``.

The spawn hook and what it uses (the launched repository and the fetch of
its `.resources`, the server quota, the per-user volume and SSH key, the
launch record, metrics) and the home page. Imports the standard library,
the hub image's packages and :mod:`pyconfig.resources`; never the admin
tools, which the chart does not ship.
"""
