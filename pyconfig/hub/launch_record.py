"""What the spawn hook keeps of each launch, in the server's user_options.

The hub saves user_options in its database with the server, so the record
outlives the hook: the per-user totals add up the records of a user's other
servers, and the home page shows them. One type writes and reads it.
user_options arrive from the REST API as the caller sent them, so a record
is read only if it has exactly the shape written here; anything else is "no
record" (never an error page, never a total skewed by a forged one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Where the record sits in a server's user_options.
RECORD_KEY = "persistent_binderhub"
#: The amounts that per-user totals add up.
TOTAL_KEYS = ("cpu_limit", "mem_limit_gb", "gpu")
ORIGINS = ("file", "defaults")

#: What one server holds, by TOTAL_KEYS.
Usage = dict[str, float]


def no_usage() -> Usage:
    return dict.fromkeys(TOTAL_KEYS, 0.0)


@dataclass(frozen=True)
class LaunchRecord:
    """One launch's resources, where they came from, and the user's key."""

    cpu_guarantee: float
    cpu_limit: float
    mem_guarantee_gb: float
    mem_limit_gb: float
    gpu: float
    origin: str  # one of ORIGINS
    explanation: str
    ssh_public_key: str

    @classmethod
    def of(
        cls, resources: Any, origin: str, explanation: str, key: str
    ) -> LaunchRecord:
        """The record of a launch given these effective resources."""
        return cls(
            cpu_guarantee=resources.cpu_guarantee.value,
            cpu_limit=resources.cpu_limit.value,
            mem_guarantee_gb=resources.mem_guarantee.value,
            mem_limit_gb=resources.mem_limit.value,
            gpu=resources.gpu.value,
            origin=origin,
            explanation=explanation,
            ssh_public_key=key,
        )

    @classmethod
    def in_options(cls, options: Any) -> LaunchRecord | None:
        """The record in these user_options, or None if missing or not in the
        shape :meth:`store` writes."""
        recorded = options.get(RECORD_KEY) if isinstance(options, Mapping) else None
        if not isinstance(recorded, Mapping):
            return None
        values = {}
        for field in fields(cls):
            value = recorded.get(field.name)
            wanted = _is_text if field.type == "str" else _is_amount
            if not wanted(value):
                return None
            values[field.name] = value
        if values["origin"] not in ORIGINS:
            return None
        return cls(**values)

    def store(self, options: dict[str, Any]) -> None:
        """Put this record into ``options`` (in place of any other)."""
        options[RECORD_KEY] = asdict(self)

    def usage(self) -> Usage:
        """What this server counts against the per-user totals."""
        return {key: float(getattr(self, key)) for key in TOTAL_KEYS}

    def in_words(self) -> str:
        """The resources as the home page says them."""
        parts = [
            f"{self.cpu_guarantee:g} CPU (up to {self.cpu_limit:g})",
            f"{self.mem_guarantee_gb:g} GB (up to {self.mem_limit_gb:g})",
        ]
        if self.gpu:
            parts.append(f"{self.gpu:g} GPU")
        return ", ".join(parts)


def has_record(options: Any) -> bool:
    """True when these user_options carry something under RECORD_KEY,
    usable or not."""
    return isinstance(options, Mapping) and options.get(RECORD_KEY) is not None


def usage_of(resources: Any) -> Usage:
    """What a launch with these effective resources counts against the totals."""
    return {
        "cpu_limit": float(resources.cpu_limit.value),
        "mem_limit_gb": float(resources.mem_limit.value),
        "gpu": float(resources.gpu.value),
    }


def _is_amount(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _is_text(value: Any) -> bool:
    return isinstance(value, str)
