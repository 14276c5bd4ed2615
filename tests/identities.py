"""Adversarial identities the tests launch as: user names the hub accepts
that KubeSpawner's slugs would make one."""

#: Two names KubeSpawner's 32-bit hash gives one slug (found by brute force).
COLLIDING = ("john.doe", "john.doe.-_-.---__.-..-__-__")
