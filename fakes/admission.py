"""Admission as the Kubernetes API server does it for a namespace's quota.

The loopback cluster (fakes/kube_api.py) runs every create through this, so
a pod the real API server refuses is refused here too, with its wording:

- LimitRange (``plugin/pkg/admission/limitranger``), items of type
  ``Container``: ``default`` and ``defaultRequest`` filled into containers
  and init containers that lack them, then ``min``, ``max`` and
  ``maxLimitRequestRatio`` checked;
- ResourceQuota (``plugin/pkg/admission/resourcequota`` with the pod
  evaluator of ``pkg/quota/v1/evaluator/core``): a pod must set every
  cpu/memory resource a quota constrains, in every container and init
  container ("must specify"), and no quota's ``hard`` may be exceeded
  ("exceeded quota"); ``status.used`` is what the namespace holds.

Not done: LimitRange items of type Pod or PersistentVolumeClaim, quota
scopes and scope selectors, per-storage-class claim quotas, pod overhead,
and updates (admission runs on creates only).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from pyconfig.hub.quantity import Quantity

#: Resources whose absence from a container a cpu/memory quota refuses.
_MUST_SPECIFY = {
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
}
#: Kinds whose objects a quota counts, by resource (``count/<resource>`` too).
_COUNTED = ("pods", "persistentvolumeclaims", "secrets", "services", "configmaps")
_TERMINAL = ("Succeeded", "Failed")
#: What a LimitRange item fills in: (container field, item field).
_DEFAULTS = (("limits", "default"), ("requests", "defaultRequest"))


class Refused(Exception):
    """An admission plugin's refusal: the API server answers 403 with it."""


def _amounts(resources: Mapping[str, Any] | None) -> dict[str, Quantity]:
    return {name: Quantity.parse(v) for name, v in (resources or {}).items()}


# -- LimitRange -------------------------------------------------------------


def _container_items(limit_ranges: Iterable[dict]) -> list[tuple[str, dict]]:
    """(LimitRange name, item) for every item of type Container."""
    return [
        (lr["metadata"]["name"], item)
        for lr in limit_ranges
        for item in (lr.get("spec") or {}).get("limits") or []
        if item.get("type") == "Container"
    ]


def _defaulted_item(item: dict) -> dict:
    """The item as the API server stores it: defaultRequest falls back to
    default, and default to max, per resource."""
    item = copy.deepcopy(item)
    default = item.setdefault("default", {})
    for name, value in (item.get("max") or {}).items():
        default.setdefault(name, value)
    request = item.setdefault("defaultRequest", {})
    for name, value in default.items():
        request.setdefault(name, value)
    return item


def _containers(pod: dict) -> list[dict]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def default_requests_from_limits(pod: dict) -> None:
    """A container with a limit and no request requests its limit (the API
    server's defaulting, before any admission plugin)."""
    for container in _containers(pod):
        resources = container.get("resources") or {}
        limits = resources.get("limits") or {}
        if limits:
            requests = container.setdefault("resources", resources).setdefault(
                "requests", {}
            )
            for name, value in limits.items():
                requests.setdefault(name, value)


def apply_limit_ranges(pod: dict, limit_ranges: Iterable[dict]) -> None:
    """Fill defaults into ``pod`` in place, then check the constraints."""
    items = [_defaulted_item(item) for _, item in _container_items(limit_ranges)]
    for item in items:
        for container in _containers(pod):
            resources = container.setdefault("resources", {})
            for field, source in (
                ("limits", "default"),
                ("requests", "defaultRequest"),
            ):
                for name, value in (item.get(source) or {}).items():
                    resources.setdefault(field, {}).setdefault(name, value)
    problems: list[str] = []
    for item in items:
        for container in _containers(pod):
            resources = container.get("resources") or {}
            problems += _violations(
                _amounts(resources.get("requests")),
                _amounts(resources.get("limits")),
                item,
            )
    if problems:
        raise Refused(problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]")


def _violations(
    requests: dict[str, Quantity], limits: dict[str, Quantity], item: dict
) -> list[str]:
    """The limitranger's refusals of one container under one item."""
    found = []
    for name, value in sorted((item.get("min") or {}).items()):
        least = Quantity.parse(value)
        request, limit = requests.get(name), limits.get(name)
        said = f"minimum {name} usage per Container is {least}"
        if request is None:
            found.append(f"{said}.  No request is specified")
        elif request.amount < least.amount:
            found.append(f"{said}, but request is {request}")
        elif limit is not None and limit.amount < least.amount:
            found.append(f"{said}, but limit is {limit}")
    for name, value in sorted((item.get("max") or {}).items()):
        most = Quantity.parse(value)
        request, limit = requests.get(name), limits.get(name)
        said = f"maximum {name} usage per Container is {most}"
        if limit is None:
            found.append(f"{said}.  No limit is specified")
        elif limit.amount > most.amount:
            found.append(f"{said}, but limit is {limit}")
        elif request is not None and request.amount > most.amount:
            found.append(f"{said}, but request is {request}")
    for name, value in sorted((item.get("maxLimitRequestRatio") or {}).items()):
        ratio = Quantity.parse(value)
        request, limit = requests.get(name), limits.get(name)
        said = f"{name} max limit to request ratio per Container is {ratio}"
        if request is None or request.amount == 0:
            found.append(f"{said}, but no request is specified or request is 0")
        elif limit is None or limit.amount == 0:
            found.append(f"{said}, but no limit is specified or limit is 0")
        elif limit.amount / request.amount > ratio.amount:
            observed = float(limit.amount / request.amount)
            found.append(f"{said}, but provided ratio is {observed:f}")
    return found


# -- ResourceQuota ------------------------------------------------------------


def usage(resource: str, obj: dict) -> dict[str, Quantity]:
    """What one object counts against a quota."""
    one = Quantity(Fraction(1))
    counted: dict[str, Quantity] = {}
    if resource in _COUNTED:
        counted = {resource: one, f"count/{resource}": one}
    if resource == "persistentvolumeclaims":
        storage = ((obj.get("spec") or {}).get("resources") or {}).get("requests", {})
        if "storage" in storage:
            counted["requests.storage"] = Quantity.parse(storage["storage"])
    if resource == "pods":
        # count/pods counts every stored pod; "pods" and compute resources
        # only pods that have not ended, as the pod evaluator does.
        if (obj.get("status") or {}).get("phase") in _TERMINAL:
            del counted["pods"]
        else:
            counted.update(_pod_compute(obj))
    return counted


def _pod_compute(pod: dict) -> dict[str, Quantity]:
    """max(sum of the containers, each init container), per resource."""

    def of(container: dict) -> dict[str, Quantity]:
        resources = container.get("resources") or {}
        found = {}
        for name, value in _amounts(resources.get("requests")).items():
            found[f"requests.{name}"] = value
            if name in ("cpu", "memory"):
                found[name] = value
        for name, value in _amounts(resources.get("limits")).items():
            if name in ("cpu", "memory"):
                found[f"limits.{name}"] = value
        return found

    spec = pod.get("spec") or {}
    total: dict[str, Quantity] = {}
    for container in spec.get("containers") or []:
        for name, value in of(container).items():
            total[name] = total[name] + value if name in total else value
    for container in spec.get("initContainers") or []:
        for name, value in of(container).items():
            if name not in total or value.amount > total[name].amount:
                total[name] = value
    return total


def _missing(pod: dict, constrained: set[str]) -> str:
    required = constrained & _MUST_SPECIFY
    missing: dict[str, list[str]] = {}
    for container in _containers(pod):
        has = set(_pod_compute({"spec": {"containers": [container]}}))
        for name in required - has:
            missing.setdefault(name, []).append(container.get("name", ""))
    return "; ".join(
        f"{name} for: {','.join(sorted(set(names)))}"
        for name, names in sorted(missing.items())
    )


def _pretty(amounts: Mapping[str, Quantity]) -> str:
    return ",".join(f"{name}={amounts[name]}" for name in sorted(amounts))


def used(
    hard: Mapping[str, Any], held: Iterable[tuple[str, dict]]
) -> dict[str, Quantity]:
    """What ``held`` ((resource, object) pairs) uses of each hard resource."""
    total = {
        name: Quantity(Fraction(0), Quantity.parse(v).binary)
        for name, v in hard.items()
    }
    for resource, obj in held:
        for name, value in usage(resource, obj).items():
            if name in total:
                total[name] = total[name] + value
    return total


def check_quotas(
    resource: str,
    obj: dict,
    quotas: Iterable[dict],
    held: list[tuple[str, dict]],
) -> None:
    """Refuse ``obj`` if a quota of its namespace does, as the API server."""
    delta = usage(resource, obj)
    for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
        name = quota["metadata"]["name"]
        hard = _amounts((quota.get("spec") or {}).get("hard"))
        if resource == "pods":
            missing = _missing(obj, set(hard))
            if missing:
                raise Refused(f"failed quota: {name}: must specify {missing}")
        before = used(quota["spec"]["hard"], held)
        over = sorted(
            key
            for key in set(delta) & set(hard)
            if (before[key] + delta[key]).amount > hard[key].amount
        )
        if over:
            raise Refused(
                f"exceeded quota: {name}, "
                f"requested: {_pretty({k: delta[k] for k in over})}, "
                f"used: {_pretty({k: before[k] for k in over})}, "
                f"limited: {_pretty({k: hard[k] for k in over})}"
            )


def quota_status(quota: dict, held: Iterable[tuple[str, dict]]) -> dict[str, Any]:
    """The status the quota controller keeps: hard, and what is used of it."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    return {
        "hard": {name: str(Quantity.parse(v)) for name, v in hard.items()},
        "used": {name: str(q) for name, q in used(hard, held).items()},
    }
