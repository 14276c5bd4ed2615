"""What runs inside BinderHub, loaded by ``configure(c)`` from the binder
pod's ``extraConfig``.

Imports the standard library and the binder image's packages only (the
BinderHub app, tornado, traitlets); never the hub integration or the admin
tools.
"""
