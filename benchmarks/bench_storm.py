"""Benchmark: a workshop's launch storm, on the local service.

A course of USERS students, each logged in through OpenID Connect with
values/cerit.yaml's own login (fakes/oidc_provider.py), all launch the same
new commit through BinderHub's build API within 10 seconds; a second wave
relaunches it (the `.resources` cache is warm). The real BinderHub, hub,
KubeSpawner and notebook processes run on the loopback cluster
(offline/local_binder.py). For each wave it prints:

- how many times the hub fetched the commit's `.resources` (goal: 1, then 0);
- launches that reached a running notebook, and those refused or failed;
- p50 and p95 seconds from the build request to the notebook answering;
- hub CPU seconds per launch, and Kubernetes API calls per launch by verb;
- the hub process's peak memory (VmHWM) so far.

Then ``--find-limit`` raises the number of students by STEP (a wave each)
until a launch fails or a wave's p95 passes LIMIT_P95 seconds, and says what
gave: the messages the students saw, and the hub log's lines that name a
limit (BinderHub shows the hub's 429 only as "Failed to launch image").
Last, the per-user quota race: one student fires 10 launches at once with
5 slots.

Figures only; nothing here asserts a time.

    python benchmarks/bench_storm.py [--users N] [--find-limit] [--quick]
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_cluster import cpu_seconds, verb
from fakes.oidc_provider import OIDCProvider
from offline.chart import NAMESPACE
from offline.hub_setup import SHA
from offline.local_binder import Binder, hub_and_binder
from offline.local_hub import Hub
from offline.login import LOGIN_VALUES, log_in_http, members_group

RESOURCES = f"/course/lecture/{SHA}/.resources"
FILES = {RESOURCES: b"# the course's notebook\ncpur=0.5\ncpul=2\nmemr=1\nmeml=2\n"}
COMMITS = {("course", "lecture", "main"): SHA}
SPEC = "gh/course/lecture/main"
SPREAD = 10.0  # seconds over which a wave's requests arrive
LIMIT_P95 = 120.0  # seconds: a wave slower than this at p95 "gave"
STEP = 10  # students added per wave while looking for the first limit


@dataclass
class Outcome:
    seconds: float | None  # request to the notebook answering; None: failed
    message: str = ""


#: What the hub's log says when a limit gives, and what gave.
LIMITS = {
    "429 POST": "the hub's concurrent_spawn_limit (hub.concurrentSpawnLimit)",
    "TimeoutError: Could not create pod": "pod creation retried past "
    "KubeSpawner's k8s_api_request_retry_timeout (the API server or the machine)",
    "took too long to launch": "BinderHub's launch_timeout",
    "Event loop was unresponsive": "the hub's event loop (CPU)",
}


@dataclass
class Wave:
    outcomes: list[Outcome] = field(default_factory=list)
    limits: collections.Counter[str] = field(default_factory=collections.Counter)
    fetches: int = 0
    cpu: float = 0.0
    calls: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def times(self) -> list[float]:
        return sorted(o.seconds for o in self.outcomes if o.seconds is not None)

    @property
    def failures(self) -> list[str]:
        return [o.message for o in self.outcomes if o.seconds is None]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def peak_memory_mib(pid: int) -> float:
    for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def launch(hub: Hub, binder: Binder, token: str, delay: float) -> Outcome:
    """One student: wait ``delay``, ask BinderHub, open the notebook."""
    time.sleep(delay)
    started = time.monotonic()
    try:
        events = binder.build(SPEC, token, timeout=600)
    except Exception as error:  # a timeout or a dropped stream is an outcome
        return Outcome(None, f"{type(error).__name__}: {error}"[:200])
    last = events[-1] if events else {}
    if last.get("phase") != "ready":
        return Outcome(None, str(last.get("message") or last)[:200])
    path = last["url"].removeprefix(hub.url)
    while hub.call("GET", f"{path}api/status", service=f"token:{token}")[0] != 200:
        if time.monotonic() - started > 600:
            return Outcome(None, "the notebook did not answer")
        time.sleep(0.2)
    return Outcome(time.monotonic() - started)


def wave(hub: Hub, binder: Binder, tokens: dict[str, str]) -> Wave:
    """Every student launches once, the requests spread over SPREAD s."""
    result = Wave()
    fetched = sum(1 for _, path, _ in hub.raw.requests if path == RESOURCES)
    seen = len(hub.kube.calls())
    before = cpu_seconds(hub.process.pid)
    logged = hub.log.stat().st_size
    with ThreadPoolExecutor(len(tokens)) as pool:
        futures = [
            pool.submit(launch, hub, binder, token, random.uniform(0, SPREAD))
            for token in tokens.values()
        ]
        result.outcomes = [f.result() for f in futures]
    result.cpu = cpu_seconds(hub.process.pid) - before
    result.fetches = (
        sum(1 for _, path, _ in hub.raw.requests if path == RESOURCES) - fetched
    )
    for method, call in hub.kube.calls()[seen:]:
        if "watch=" not in call:  # the reflectors' long polls
            result.calls[verb(method, call)] += 1
    with hub.log.open("rb") as log:
        log.seek(logged)
        for line in log.read().decode(errors="replace").splitlines():
            for sign, limit in LIMITS.items():
                if sign in line and "log:" not in line:  # not the access log
                    result.limits[limit] += 1
    return result


def report(name: str, result: Wave, hub: Hub) -> None:
    count = len(result.outcomes)
    times = result.times
    print(f"{name}: {count} launches")
    print(f"  .resources fetches for the commit: {result.fetches}")
    failed = count - len(times)
    print(f"  reached a notebook: {len(times)}; refused or failed: {failed}")
    for message, n in collections.Counter(result.failures).most_common(3):
        print(f"    {n} x {message.strip()}")
    for limit, n in result.limits.most_common():
        print(f"  the hub's log: {n} x {limit}")
    print(
        f"  request to notebook answering: p50 {percentile(times, 0.5):.1f} s, "
        f"p95 {percentile(times, 0.95):.1f} s, max {max(times, default=0):.1f} s"
    )
    print(f"  hub CPU per launch: {result.cpu / max(count, 1):.3f} s")
    shown = ", ".join(
        f"{v} {result.calls[v] / max(count, 1):.2f}" for v in sorted(result.calls)
    )
    print(f"  Kubernetes API calls per launch (watches aside): {shown}")
    print(f"  hub peak memory so far: {peak_memory_mib(hub.process.pid):.0f} MiB")
    sys.stdout.flush()


def students(idp: OIDCProvider, hub: Hub, names: list[str]) -> dict[str, str]:
    """Log each in through the provider (8 at a time); their API tokens,
    which BinderHub's page holds for a logged-in student."""
    for name in names:
        idp.users[name] = {"eduperson_entitlement": [members_group()]}

    def one(name: str) -> tuple[str, str]:
        log_in_http(hub.url, name)
        status, token = hub.api("POST", f"/users/{name}/tokens", {"note": "storm"})
        if status != 201:
            raise SystemExit(f"no token for {name}: {token}")
        return name, token["token"]

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, names))


def clear(hub: Hub, names: list[str]) -> None:
    """Stop and remove every server of ``names``; wait until the pods are gone."""
    for name in names:
        status, model = hub.api("GET", f"/users/{name}")
        for server in (model.get("servers") or {}) if status == 200 else {}:
            if server:
                hub.api("DELETE", f"/users/{name}/servers/{server}", {"remove": True})
    deadline = time.monotonic() + 300
    while hub.kube.list("pods", NAMESPACE, "component=singleuser-server"):
        if time.monotonic() > deadline:
            raise SystemExit("pods did not go away")
        time.sleep(0.5)


def quota_race(hub: Hub, binder: Binder, token: str) -> None:
    """One student, 10 launches at once, 5 slots."""
    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(lambda _: binder.build(SPEC, token, 600), range(10)))
    ready = sum(1 for events in outcomes if events[-1].get("phase") == "ready")
    quota = sum(
        1
        for events in outcomes
        if "maximum of 5 named servers" in events[-1].get("message", "")
        or "the most allowed (5)" in events[-1].get("message", "")
    )
    time.sleep(3)  # refused servers go a second after they stop
    status, model = hub.api("GET", "/users/racer?include_stopped_servers=1")
    servers = [s for s in model.get("servers", {}) if s] if status == 200 else []
    print(
        f"quota race, 10 launches at once with 5 slots: {ready} started, "
        f"{quota} refused with the quota message, "
        f"{len(servers) - ready} servers left besides the started ones"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--find-limit", action="store_true")
    parser.add_argument("--quick", action="store_true", help="3 students, 1 wave")
    args = parser.parse_args(argv)
    users = 3 if args.quick else args.users
    random.seed(13)
    with (
        tempfile.TemporaryDirectory(prefix="bench-storm-") as state,
        OIDCProvider() as idp,
        hub_and_binder(Path(state), FILES, COMMITS, LOGIN_VALUES, idp=idp) as (
            hub,
            binder,
        ),
    ):
        names = [f"student{i:03d}" for i in range(users)]
        tokens = students(idp, hub, names)
        report(f"wave 1 ({users} students, new commit)", wave(hub, binder, tokens), hub)
        if not args.quick:
            clear(hub, names)
            second = wave(hub, binder, tokens)
            report(f"wave 2 ({users} students, relaunch)", second, hub)
        clear(hub, names)
        if args.find_limit:
            size = users
            while True:
                size += STEP
                more = [f"student{i:03d}" for i in range(len(names), size)]
                tokens.update(students(idp, hub, more))
                names += more
                result = wave(hub, binder, tokens)
                report(f"limit search: {size} students", result, hub)
                clear(hub, names)
                if result.failures or percentile(result.times, 0.95) > LIMIT_P95:
                    print(f"first limit at {size} students simultaneously")
                    break
        quota_race(hub, binder, students(idp, hub, ["racer"])["racer"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
