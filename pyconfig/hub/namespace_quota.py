"""What the namespace's ResourceQuotas leave for one more notebook.

When the namespace quota (persistentBinderhub.resourceQuota, or an admin's
own) is spent, Kubernetes refuses the notebook's pod with a 403 that users
read as "Spawn failed: (403) Forbidden ..." under BinderHub's loading bar.
Read before the pod is asked for, a full service becomes a refusal that
says what ran out and what the user can do; nothing is created and no
quota slot is spent (the refused server goes, as every refused one).

Kubernetes keeps the last word: two launches may race for the last GPU,
and a quota the hub cannot read does not stop a launch. The read is one
list call per launch, made only when ``NamespaceQuota.enabled``. The last
reading is kept for the home page (``capacity``) and /hub/metrics: both show
the quota as of the last launch, with no call of their own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from traitlets import Bool
from traitlets.config import LoggingConfigurable

from . import metrics
from .quantity import Quantity
from .refusal import LaunchRefused

GIB = 1024**3


class NamespaceQuota(LoggingConfigurable):
    """Refuse a launch, with a message for its user, that the namespace's
    ResourceQuotas would refuse."""

    enabled = Bool(
        False,
        config=True,
        help="Before a notebook's pod is asked for, read the namespace's "
        "ResourceQuotas (one list call) and refuse a launch they would refuse, "
        "saying what ran out (GPUs, CPU, memory, notebooks) and what to do. "
        "Turn on with persistentBinderhub.resourceQuota.enabled; the hub's "
        "Role may read ResourceQuotas (the chart grants it). The home page and "
        "/hub/metrics show the quota's use as read at the last launch.",
    ).tag(schema={"type": "boolean"})

    async def check(
        self, api: Any, namespace: str, spawner: Any, gpu_name: str, timeout: float
    ) -> None:
        """LaunchRefused if a quota lacks room for ``spawner``'s pod."""
        if not self.enabled:
            return
        try:
            listed = await asyncio.wait_for(
                api.list_namespaced_resource_quota(namespace), timeout
            )
        except Exception as error:  # unreadable: Kubernetes will judge
            status = getattr(error, "status", None) or type(error).__name__
            self.log.warning("Namespace quota not read (%s); launch goes on", status)
            return
        quotas = [_plain(q) for q in listed.items]
        _observe(quotas)
        _READINGS["last"] = Reading(tuple(quotas), _utcnow())
        short = shortages(quotas, asked_by(spawner, gpu_name))
        if short:
            raise LaunchRefused(refusal_text(short, gpu_name), "cluster_full")


@dataclass(frozen=True)
class Shortage:
    """A resource of a quota this launch would exceed."""

    resource: str
    asked: Quantity
    used: Quantity
    hard: Quantity


def asked_by(spawner: Any, gpu_name: str) -> dict[str, Quantity]:
    """What the notebook's pod will count against a quota (its notebook
    container; the short init container takes no more)."""
    gpus = (spawner.extra_resource_guarantees or {}).get(gpu_name) or 0
    asked = {
        "pods": 1,
        "count/pods": 1,
        "limits.cpu": spawner.cpu_limit,
        "limits.memory": spawner.mem_limit,
        "requests.cpu": spawner.cpu_guarantee,
        "cpu": spawner.cpu_guarantee,
        "requests.memory": spawner.mem_guarantee,
        "memory": spawner.mem_guarantee,
        f"requests.{gpu_name}": gpus,
    }
    return {
        name: Quantity.parse(value)
        for name, value in asked.items()
        if value is not None and value != 0
    }


def shortages(quotas: list[dict], asked: dict[str, Quantity]) -> list[Shortage]:
    found = []
    for quota in quotas:
        status = quota.get("status") or {}
        hard = (quota.get("spec") or {}).get("hard") or {}
        used = status.get("used") or {}
        for name in sorted(set(hard) & set(asked)):
            try:
                limit = Quantity.parse(hard[name])
                held = Quantity.parse(used.get(name, 0))
            except ValueError:
                continue
            if held.amount + asked[name].amount > limit.amount:
                found.append(Shortage(name, asked[name], held, limit))
    return found


def refusal_text(short: list[Shortage], gpu_name: str) -> str:
    """What the user reads: what ran out, and what to do."""
    said: list[str] = []
    advice: list[str] = []
    for item in short:
        if item.resource == f"requests.{gpu_name}":
            said.append(
                f"{_count(item.used)} of its {_count(item.hard)} GPUs are in use "
                f"and this launch asks for {_count(item.asked)}"
            )
            advice.append("launch without a GPU (no gpu= in .resources)")
        elif item.resource in ("limits.cpu", "requests.cpu", "cpu"):
            said.append(
                f"running notebooks hold {_count(item.used)} of its "
                f"{_count(item.hard)} CPU cores and this launch asks for "
                f"{_count(item.asked)}"
            )
            advice.append("ask for fewer cores (cpul= and cpur= in .resources)")
        elif item.resource in ("limits.memory", "requests.memory", "memory"):
            said.append(
                f"running notebooks hold {_gb(item.used)} of its {_gb(item.hard)} "
                f"of memory and this launch asks for {_gb(item.asked)}"
            )
            advice.append("ask for less memory (meml= and memr= in .resources)")
        elif item.resource in ("pods", "count/pods"):
            said.append(f"it runs its most notebooks ({_count(item.hard)})")
        else:
            said.append(f"its {item.resource} quota is spent")
    advice = list(dict.fromkeys(advice))
    todo = ", or ".join([*advice, "try again later"])
    return (
        f"Launch refused: the service is full: {'; '.join(dict.fromkeys(said))}. "
        f"You can {todo}. Nothing of yours was lost, and this launch does not "
        "count toward your servers."
    )


def _count(quantity: Quantity) -> str:
    return f"{float(quantity.amount):g}"


def _gb(quantity: Quantity) -> str:
    amount = float(quantity.amount / GIB)
    return f"{amount:.0f} GB" if amount >= 100 else f"{amount:.3g} GB"


@dataclass(frozen=True)
class Reading:
    """A namespace's ResourceQuotas as the hub last read them."""

    quotas: tuple[dict, ...]
    at: datetime  # naive UTC, as the hub database keeps times


#: "last": the hub's last reading (its notebooks' namespace).
_READINGS: dict[str, Reading] = {}


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def last_reading() -> Reading | None:
    return _READINGS.get("last")


def _families(gpu_name: str) -> list[tuple[tuple[str, ...], str]]:
    """Each resource users read about: the quota names that count it, and
    how its use reads (filled with used and hard)."""
    return [
        ((f"requests.{gpu_name}",), "GPUs: {used} of {hard} in use"),
        (("limits.cpu", "requests.cpu", "cpu"), "CPU: {used} of {hard} cores held"),
        (
            ("limits.memory", "requests.memory", "memory"),
            "Memory: {used} of {hard} held",
        ),
        (
            ("pods", "count/pods"),
            "Pods: {used} of {hard} (notebooks, builds and the service's own)",
        ),
    ]


def capacity(reading: Reading, gpu_name: str) -> list[str]:
    """The quota's use, a line per resource it limits: of the quotas and
    names that count a resource, the one with the least room left."""
    lines = []
    for names, words in _families(gpu_name):
        tightest: tuple[Quantity, Quantity] | None = None
        for quota in reading.quotas:
            hard = (quota.get("spec") or {}).get("hard") or {}
            used = (quota.get("status") or {}).get("used") or {}
            for name in names:
                if name not in hard:
                    continue
                try:
                    limit = Quantity.parse(hard[name])
                    held = Quantity.parse(used.get(name, 0))
                except ValueError:
                    continue
                room = limit.amount - held.amount
                if tightest is None or room < tightest[1].amount - tightest[0].amount:
                    tightest = (held, limit)
        if tightest is None:
            continue
        show = _gb if "Memory" in words else _count
        lines.append(words.format(used=show(tightest[0]), hard=show(tightest[1])))
    return lines


def _plain(quota: Any) -> dict:
    """A client model as the API's JSON shape (spec.hard, status.used)."""
    spec = getattr(quota, "spec", None)
    status = getattr(quota, "status", None)
    return {
        "metadata": {"name": getattr(quota.metadata, "name", "")},
        "spec": {"hard": dict(getattr(spec, "hard", None) or {})},
        "status": {"used": dict(getattr(status, "used", None) or {})},
    }


def _observe(quotas: list[dict]) -> None:
    """The namespace's quota use, as /hub/metrics shows it."""
    for quota in quotas:
        name = quota["metadata"]["name"]
        for field, kind in (("spec", "hard"), ("status", "used")):
            amounts = quota[field].get(kind) or {}
            for resource, value in amounts.items():
                try:
                    amount = float(Quantity.parse(value).amount)
                except ValueError:
                    continue
                metrics.NAMESPACE_QUOTA.labels(name, resource, kind).set(amount)
