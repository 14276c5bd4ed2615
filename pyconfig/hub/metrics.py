"""Prometheus metrics, served on the hub's own /hub/metrics.

They live in prometheus_client's default registry, which JupyterHub exports;
names start with ``persistent_binderhub_``.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram


def _metric(kind: type, name: str, documentation: str, **kwargs: Any) -> Any:
    """The metric, made once per process even if this module is loaded twice
    (the chart tests load the shipped copy beside the repository's)."""
    try:
        return kind(name, documentation, **kwargs)
    except ValueError:  # already registered
        return REGISTRY._names_to_collectors[name]


LAUNCHES = _metric(
    Counter,
    "persistent_binderhub_launches",
    "Launches by how their resources were decided: from the repository's "
    ".resources file, the defaults, or refused.",
    labelnames=["outcome"],
)
REFUSALS = _metric(
    Counter,
    "persistent_binderhub_refusals",
    "Refused launches by reason: resources (the file or a cap), quota, total, "
    "fetch, ssh_key.",
    labelnames=["reason"],
)
FETCH_SECONDS = _metric(
    Histogram,
    "persistent_binderhub_resources_fetch_seconds",
    "Time to read a repository's .resources from its provider.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_LOOKUPS = _metric(
    Counter,
    "persistent_binderhub_resources_cache_lookups",
    "Lookups of parsed .resources files by repository and commit.",
    labelnames=["result"],
)
CACHE_ENTRIES = _metric(
    Gauge,
    "persistent_binderhub_resources_cache_entries",
    "Parsed .resources files held in the cache.",
)
