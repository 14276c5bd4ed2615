"""Turn effective resources into KubeSpawner settings for one spawner.

The settings are merged into what the spawner already has (from
``hub.config.KubeSpawner`` and the chart), never put in its place: an admin's
node selector, tolerations or environment must survive a `.resources` file.
"""

from __future__ import annotations

from typing import Any

from .effective import EffectiveResources
from .parser import Number
from .policy import ResourcePolicy

#: 1 GB in `.resources` is KubeSpawner's "1G": 1024**3 bytes (Kubernetes "1Gi").
BYTES_PER_GB = 1024**3

#: Dict-valued KubeSpawner traits: merged key by key; a None value removes a key.
MERGED_DICTS = (
    "environment",
    "node_selector",
    "extra_resource_guarantees",
    "extra_resource_limits",
)
#: List-valued KubeSpawner traits: new entries appended unless already present.
MERGED_LISTS = ("tolerations",)

GPU_VISIBILITY_VARIABLE = "NVIDIA_VISIBLE_DEVICES"


#: The least CPU Kubernetes keeps: it counts CPU in whole millicores (1m).
MIN_CPU_CORES = 0.001
#: The least memory Kubernetes keeps: one byte.
MIN_MEM_BYTES = 1


class UnkeptAmount(ValueError):
    """An amount Kubernetes would not keep; KubeSpawner drops a zero, so the
    pod would start without that request or limit. The parser and the schema
    refuse such amounts in files; this catches them from anywhere else."""


def gb_to_bytes(gb: float) -> int:
    return round(gb * BYTES_PER_GB)


def _kept(trait: str, amount: Number, least: Number) -> Number:
    """``amount`` if Kubernetes keeps it, else :class:`UnkeptAmount`."""
    if not amount >= least:
        raise UnkeptAmount(
            f"{trait}={amount} is less than Kubernetes keeps ({least}); the "
            "pod would start without it"
        )
    return amount


def kubespawner_settings(
    resources: EffectiveResources, policy: ResourcePolicy
) -> dict[str, Any]:
    """KubeSpawner trait values for these resources (dicts are partial updates).

    Every request and limit is positive after rounding, or this raises:
    KubeSpawner leaves a zero out of the pod, and a pod without a limit has
    none at all.
    """
    settings: dict[str, Any] = {
        "cpu_guarantee": _cores("cpu_guarantee", resources.cpu_guarantee.value),
        "cpu_limit": _cores("cpu_limit", resources.cpu_limit.value),
        "mem_guarantee": _bytes("mem_guarantee", resources.mem_guarantee.value),
        "mem_limit": _bytes("mem_limit", resources.mem_limit.value),
    }
    placement = policy.snapshot()
    gpus = int(resources.gpu.value)
    name = placement.gpu_resource_name
    if gpus > 0:
        settings["extra_resource_guarantees"] = {name: gpus}
        settings["extra_resource_limits"] = {name: gpus}
        settings["node_selector"] = dict(placement.gpu_node_selector)
        settings["tolerations"] = [dict(t) for t in placement.gpu_tolerations]
        # The device plugin sets which GPUs the container sees.
        settings["environment"] = {GPU_VISIBILITY_VARIABLE: None}
    else:
        settings["extra_resource_guarantees"] = {name: None}
        settings["extra_resource_limits"] = {name: None}
        if placement.no_gpu_visible_devices:
            settings["environment"] = {
                GPU_VISIBILITY_VARIABLE: placement.no_gpu_visible_devices
            }
    return settings


def _cores(trait: str, cores: Number) -> float:
    return float(_kept(trait, float(cores), MIN_CPU_CORES))


def _bytes(trait: str, gb: Number) -> int:
    return int(_kept(trait, gb_to_bytes(gb), MIN_MEM_BYTES))


def merged(current: Any, update: Any, trait: str) -> Any:
    """The value a trait gets when ``update`` is merged into ``current``."""
    if trait in MERGED_DICTS:
        result = dict(current or {})
        for key, value in update.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        return result
    if trait in MERGED_LISTS:
        result = list(current or [])
        result.extend(item for item in update if item not in result)
        return result
    return update


def apply_settings(spawner: Any, settings: dict[str, Any]) -> None:
    """Set the settings on this spawner instance only (other servers keep theirs)."""
    for trait, update in settings.items():
        setattr(spawner, trait, merged(getattr(spawner, trait), update, trait))
