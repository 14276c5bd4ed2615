"""Prometheus metrics, served on the hub's own /hub/metrics.

They live in prometheus_client's default registry, which JupyterHub exports;
names start with ``persistent_binderhub_``. Like every Prometheus metric they
are made once per process: a process that loads a second copy of pyconfig
(offline/hub_pod.py does, for a rendered hub pod) shares this module.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LAUNCHES = Counter(
    "persistent_binderhub_launches",
    "Launches by how their resources were decided: from the repository's "
    ".resources file, the defaults, or refused.",
    labelnames=["outcome"],
)
REFUSALS = Counter(
    "persistent_binderhub_refusals",
    "Refused launches by reason: resources (the file or a cap), quota, total, "
    "fetch, storage, ssh_key, cluster_full (the namespace's ResourceQuota).",
    labelnames=["reason"],
)
FETCH_SECONDS = Histogram(
    "persistent_binderhub_resources_fetch_seconds",
    "Time to read a repository's .resources from its provider.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_LOOKUPS = Counter(
    "persistent_binderhub_resources_cache_lookups",
    "Lookups of parsed .resources files by repository and commit.",
    labelnames=["result"],
)
CACHE_ENTRIES = Gauge(
    "persistent_binderhub_resources_cache_entries",
    "Parsed .resources files held in the cache.",
)
HOOK_SECONDS = Histogram(
    "persistent_binderhub_spawn_hook_seconds",
    "Time the pre-spawn hook takes per launch (file, policy, quota, SSH key), "
    "by status: success, refused, failure.",
    labelnames=["status"],
    buckets=(
        0.0005,
        0.001,
        0.0015,
        0.002,
        0.003,
        0.005,
        0.0075,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
        5,
        10,
        30,
    ),
)
KUBERNETES_CALLS = Counter(
    "persistent_binderhub_ssh_key_api_calls",
    "Kubernetes API calls made for users' SSH key Secrets, by call: read, create.",
    labelnames=["call"],
)
NAMESPACE_QUOTA = Gauge(
    "persistent_binderhub_namespace_quota",
    "The namespace's ResourceQuotas as last read before a launch "
    "(NamespaceQuota.enabled): each resource's hard limit and what is used.",
    labelnames=["quota", "resource", "kind"],
)
