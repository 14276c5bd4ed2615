"""The `.resources` contract: what a repository may ask for, and what it gets.

Its schema, the parser with its problems, the deployment's policy (defaults
and caps), the effective resources of one file under that policy, and the
KubeSpawner settings they become. Pure: no hub, no network, no Kubernetes;
repository authors run it through ``pyconfig check``, the hub through its
spawn hook.
"""
