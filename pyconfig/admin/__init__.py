"""Admin and author tooling, run outside the hub: ``python -m pyconfig``.

The ``check`` command, the chart values reader and the launch requests it
builds for a spec. The chart does not ship this folder to
the hub; it may import the other two.
"""
