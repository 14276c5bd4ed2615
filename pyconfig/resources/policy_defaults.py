"""ResourcePolicy's defaults follow KubeSpawner's amounts unless set.

One place for a deployment's defaults: the chart's ``singleuser.cpu`` and
``.memory``, which z2jh turns into KubeSpawner's ``cpu_guarantee``,
``cpu_limit``, ``mem_guarantee`` and ``mem_limit``. ResourcePolicy takes
each as its ``default_*`` unless the admin sets that default on
ResourcePolicy itself. The hub does this at start (pyconfig.hub.configure);
``pyconfig check --values`` does the same offline, with this function.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

from .kubespawner_settings import BYTES_PER_GB

#: ResourcePolicy default -> the KubeSpawner trait it follows.
DERIVED = {
    "default_cpu_guarantee": "cpu_guarantee",
    "default_cpu_limit": "cpu_limit",
    "default_mem_guarantee": "mem_guarantee",
    "default_mem_limit": "mem_limit",
}
#: KubeSpawner trait -> where z2jh's chart values set it, below ``singleuser``.
SINGLEUSER_KEYS = {
    "cpu_guarantee": ("cpu", "guarantee"),
    "cpu_limit": ("cpu", "limit"),
    "mem_guarantee": ("memory", "guarantee"),
    "mem_limit": ("memory", "limit"),
}


def derived_defaults(
    kubespawner: Mapping[str, Any], set_already: Container[str]
) -> dict[str, float]:
    """ResourcePolicy default -> amount, from KubeSpawner's settings, for each
    default not in ``set_already`` whose KubeSpawner trait is set.

    Memory is read as KubeSpawner reads it (JupyterHub's ByteSpecification:
    K, M, G and T are powers of 1024) and given in GB of 1024^3 bytes.
    Raises TraitError for an amount KubeSpawner would refuse.
    """
    derived = {}
    for ours, theirs in DERIVED.items():
        value = kubespawner.get(theirs)
        if ours in set_already or value is None:
            continue
        if theirs.startswith("mem"):
            # Imported here: an author's checker without JupyterHub reads
            # files and values that set no memory amounts.
            from jupyterhub.traitlets import ByteSpecification

            value = ByteSpecification().validate(None, value) / BYTES_PER_GB
        derived[ours] = float(value)
    return derived


def chart_key(trait: str) -> str:
    """The chart values key (below the z2jh values) that sets a KubeSpawner
    amount, e.g. ``singleuser.cpu.limit`` for ``cpu_limit``."""
    return ".".join(("singleuser", *SINGLEUSER_KEYS[trait]))


def origins(message: str, sources: Mapping[str, str]) -> str:
    """Where each derived default that ``message`` names came from, as
    "; ResourcePolicy.X comes from ..." (``sources``: default -> where)."""
    return "".join(
        f"; ResourcePolicy.{ours} comes from {where}"
        for ours, where in sources.items()
        if f"ResourcePolicy.{ours} " in message
    )
