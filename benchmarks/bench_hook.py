"""Benchmark: the pre-spawn hook per launch, and the memory of its cache.

A real KubeSpawner and the hub's own run_pre_spawn_hook(), against the
loopback stand-ins of the tests (raw files, Kubernetes Secrets). Prints:
- hook time per launch of a returning user, commit cached: mean, and the
  buckets of the median and p99, read from the hook's Prometheus histogram;
- raw-file fetches and Kubernetes API calls per such launch (targets: 0 and
  at most 1);
- memory held by the parse cache filled to its bound.
Figures only; nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fakes.cluster import KUBECONFIG

os.environ["KUBECONFIG"] = str(KUBECONFIG)

from prometheus_client import REGISTRY

from fakes.kube_api import KubeAPI
from fakes.standins import RawFileServer
from offline.hub_setup import SHA, build_spawner, cerit_api, cerit_config, github
from pyconfig.hub.repo_spec import LaunchedRepo
from pyconfig.hub.resources_cache import ParsedFile, ResourcesCache
from pyconfig.hub.spawn_hook import hook_for

LAUNCHES = 30 if "--quick" in sys.argv else 300
TYPICAL = b"# training\ngpu=1\ncpur=2\ncpul=4\nmemr=8\nmeml=16\n"


async def launches(raw: RawFileServer, kube: KubeAPI) -> None:
    config = cerit_config(raw.url, kube.url)
    first = build_spawner(config, "alice", "first")
    first.user_options = github("owner", "repo")
    await first.run_pre_spawn_hook()  # first launch: fetch, create the key
    hook_for(config)  # built by the first launch
    fetches, calls = len(raw.requests), kubernetes_calls()
    before = hook_seconds()
    for index in range(LAUNCHES):
        spawner = first.user.spawners[f"s{index}"]
        spawner.user_options = github("owner", "repo")
        await spawner.run_pre_spawn_hook()
    after = hook_seconds()
    count = after["count"] - before["count"]
    mean = (after["sum"] - before["sum"]) / count * 1e6
    print(
        f"hook, returning user, cached commit: mean {mean:.0f} us, "
        f"median <= {quantile(before, after, 0.5)}, "
        f"p99 <= {quantile(before, after, 0.99)} over {count:.0f} launches "
        "(persistent_binderhub_spawn_hook_seconds)"
    )
    print(
        f"per launch: {(len(raw.requests) - fetches) / LAUNCHES:.2f} fetches "
        f"(target 0), {(kubernetes_calls() - calls) / LAUNCHES:.2f} "
        "Kubernetes API calls (target <= 1)"
    )


def kubernetes_calls() -> float:
    """persistent_binderhub_ssh_key_api_calls, all calls."""
    return sum(
        REGISTRY.get_sample_value(
            "persistent_binderhub_ssh_key_api_calls_total", {"call": call}
        )
        or 0.0
        for call in ("read", "create")
    )


def hook_seconds() -> dict[str, float]:
    """The hook histogram's successful launches: count, sum and each
    bucket's cumulative count, by upper bound."""
    found: dict[str, float] = {}
    for metric in REGISTRY.collect():
        if metric.name != "persistent_binderhub_spawn_hook_seconds":
            continue
        for sample in metric.samples:
            if sample.labels.get("status") != "success":
                continue
            if sample.name.endswith("_bucket"):
                found[sample.labels["le"]] = sample.value
            elif sample.name.endswith(("_count", "_sum")):
                found[sample.name.rsplit("_", 1)[1]] = sample.value
    return found


def quantile(before: dict[str, float], after: dict[str, float], q: float) -> str:
    """The upper bound of the bucket holding the q-quantile of the launches
    between the two readings."""
    count = after["count"] - before.get("count", 0.0)
    bounds = sorted((k for k in after if k not in ("count", "sum")), key=float)
    for bound in bounds:
        if after[bound] - before.get(bound, 0.0) >= q * count:
            return "inf" if bound == "+Inf" else f"{float(bound) * 1e6:.0f} us"
    return "inf"


def cache_memory(entries: int) -> None:
    for label, data in (
        ("typical files", TYPICAL),
        ("files of 50+ errors", b"cpu=2\n" * 200),
    ):
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        cache = ResourcesCache(entries)
        for index in range(entries + 100):
            repo = LaunchedRepo(
                "gh", "github.com", f"owner/repo{index}", f"{index:040x}"
            )
            cache.put(repo, ParsedFile.from_bytes(data))
        used = sum(
            stat.size_diff
            for stat in tracemalloc.take_snapshot().compare_to(before, "filename")
        )
        tracemalloc.stop()
        print(
            f"cache at its bound ({len(cache)} entries, {label}): "
            f"{used / 2**20:.1f} MiB, {used / len(cache):.0f} B per entry"
        )


def main() -> int:
    with RawFileServer() as raw, cerit_api() as kube:
        raw.files[f"/owner/repo/{SHA}/.resources"] = TYPICAL
        started = time.perf_counter()
        asyncio.run(launches(raw, kube))
        print(f"({time.perf_counter() - started:.1f} s for the launches)")
    from pyconfig.hub.repository_resources import RepositoryResources

    entries = RepositoryResources().cache_entries
    cache_memory(200 if "--quick" in sys.argv else entries)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
