"""Benchmark: launches on the loopback cluster, from the request to a notebook.

The real hub with the chart's configuration and KubeSpawner's own start(),
against the Kubernetes API stand-in and the node that runs each pod as a
notebook process (fakes/kube_api.py, fakes/kubelet.py). Prints:
- seconds from BinderHub's launch request to the notebook answering through
  the proxy, for a commit whose `.resources` is not cached yet (cold) and
  for one that is (warm): median and max;
- hub CPU seconds per launch (the hub process's user + system time);
- Kubernetes API calls per launch, by verb: KubeSpawner's own and what our
  hook adds (the key Secret's get).
Figures only; nothing here asserts a time.
"""

from __future__ import annotations

import collections
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.hub_setup import SHA, github
from offline.local_hub import local_hub

LAUNCHES = 2 if "--quick" in sys.argv else 4
TYPICAL = b"cpur=0.5\ncpul=2\nmemr=1\nmeml=2\n"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: HTTP method -> the verb on a collection, the verb on a named object.
VERBS = {
    "GET": ("list", "get"),
    "POST": ("create", "create"),
    "PUT": ("update", "update"),
    "PATCH": ("patch", "patch"),
    "DELETE": ("deletecollection", "delete"),
}


def verb(method: str, path: str) -> str:
    """``create pods`` for ``POST /api/v1/namespaces/NS/pods``."""
    parts = path.split("?")[0].rstrip("/").split("/")
    named = len(parts) >= 7  # /api/v1/namespaces/NS/RESOURCE/NAME
    resource = parts[5] if len(parts) > 5 else path
    return f"{VERBS.get(method, (method, method))[named]} {resource}"


def main() -> None:
    repos = [f"repo{i}" for i in range(LAUNCHES)]
    files = {f"/owner/{repo}/{SHA}/.resources": TYPICAL for repo in repos}
    with (
        tempfile.TemporaryDirectory(prefix="bench-cluster-") as state,
        local_hub(Path(state), files, cluster=True) as hub,
    ):
        hub.api("POST", "/users/alice")
        _, token = hub.api("POST", "/users/alice/tokens", {"note": "bench"})
        alice = f"token:{token['token']}"
        times: dict[str, list[float]] = {"cold": [], "warm": []}
        calls: collections.Counter[str] = collections.Counter()
        cpu = 0.0
        for index, repo in enumerate(repos):
            for kind in ("cold", "warm"):  # the same commit twice
                server = f"{kind}-{index}"
                seen = len(hub.kube.calls())
                before = cpu_seconds(hub.process.pid)
                started = time.monotonic()
                launch = hub.launch("alice", server, github("owner", repo))
                if launch.outcome != "ready":
                    raise SystemExit(f"launch failed: {launch}")
                path = f"/user/alice/{server}/api/status"
                while hub.call("GET", path, service=alice)[0] != 200:
                    if time.monotonic() - started > 120:
                        raise SystemExit(f"{server}: the notebook did not answer")
                    time.sleep(0.05)
                times[kind].append(time.monotonic() - started)
                cpu += cpu_seconds(hub.process.pid) - before
                for method, call in hub.kube.calls()[seen:]:
                    if "watch=" not in call:  # the reflectors' long polls
                        calls[verb(method, call)] += 1
                hub.api("DELETE", f"/users/alice/servers/{server}")
        count = 2 * LAUNCHES
        for kind, values in times.items():
            print(
                f"request to notebook answering, {kind} .resources cache: "
                f"median {statistics.median(values):.2f} s, max {max(values):.2f} s "
                f"over {len(values)} launches"
            )
        print(f"hub CPU per launch: {cpu / count:.3f} s")
        shown = ", ".join(f"{v} {calls[v] / count:.2f}" for v in sorted(calls))
        print(f"Kubernetes API calls per launch (watches aside): {shown}")


if __name__ == "__main__":
    main()
