"""The cluster CI job's checks of real launches (.github/workflows/cluster.yaml).

    python -m ci.cluster_ci check gh/OWNER/REPO/SHA  # after helm install, helm test
    python -m ci.cluster_ci pod-security             # after check
    python -m ci.cluster_ci report                   # after a failed step

The job installs the chart on a one-node k3s with values/minimal.yaml and
ci/k3s-values.yaml (``VALUES``). ``check`` then does what a user does and
looks at what the cluster made of it:

1. As the ``cluster-ci`` hub service (its token is read from the hub Secret
   and never printed), make the user ``ci-user`` and an API token for them.
2. Ask BinderHub's build API for the spec with that token, as BinderHub's
   page does (an event stream), printing each event's phase and message
   (never the ``ready`` event's notebook token), until ``ready``.
3. Compare the notebook's pod with the pod the hub's own code makes for the
   same launch offline (``python -m offline preview`` with the same values
   and this checkout's .resources): the claim, the SSH key Secret and the
   known hosts, where each is mounted, and the requests and limits. The
   volume must be at /home/<user>-nfs-pvc and the keys at
   /home/jovyan/.ssh/ssh.priv and ssh.pub; the claim must be Bound with the
   storage class and access modes the hub asks for.
4. Inside the notebook (``kubectl exec``, as the notebook's user): the volume
   is an NFS mount, both key files are there, the kernel's cgroup limits are
   the file's memory and CPU limits, and a file can be written to the volume.
5. Launch the same spec again: a second server, in its own pod while the
   first runs, passes 3 and 4 and reads the first one's file.

``pod-security`` holds the loopback cluster's Pod Security admission
(fakes/pod_security.py) against the API server's: for ``baseline`` and
``restricted``, a server-side dry run of labelling the namespace makes the
server name the pods already there that the level would refuse, and why;
the loopback cluster must refuse the same pods for the same reasons (the
release's own, the helm test pod, and the two notebooks ``check`` left
running).

``report`` prints what helps after a failure: nodes, the pods' phases,
conditions, container states and volumes (never their environment: it holds
each notebook's hub token, and a build pod's git credentials), claims,
events, and the logs of the hub, BinderHub, the proxy, Docker-in-Docker, the
storage driver, builds and notebooks. It never runs ``kubectl describe`` and
never reads a Secret.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from fakes import pod_security  # the standard library's alone, as below

# Only the standard library at the top: `report` runs after any failure, also
# one before .venv was built, with whatever Python the runner has.

ROOT = Path(__file__).resolve().parent.parent
#: The values files of the job's `helm upgrade --install`, in their order.
VALUES = (ROOT / "values" / "minimal.yaml", ROOT / "ci" / "k3s-values.yaml")
#: The release's namespace (offline/chart.py renders for the same).
NAMESPACE = "binderhub"
#: The hub service the check calls the hub API as (ci/k3s-values.yaml).
SERVICE = "cluster-ci"
USER = "ci-user"
#: The launched commit's .resources: the job checks out the commit it launches.
RESOURCES = ROOT / ".resources"
#: KubeSpawner's name for the notebook's container.
CONTAINER = "notebook"
#: What every notebook has (README, "For notebook users").
KEY_PATHS = ("/home/jovyan/.ssh/ssh.priv", "/home/jovyan/.ssh/ssh.pub")
BUILD_TIMEOUT = 30 * 60.0

Echo = Callable[[str], None]


def say(line: str) -> None:
    """Print at once: the job's log shows a long build as it happens."""
    print(line, flush=True)


class CheckError(RuntimeError):
    """A step that could not be done; the message says which and why."""


# --- the values ---------------------------------------------------------


def ci_values(paths: Iterable[Path] = VALUES) -> dict[str, Any]:
    """The job's values files merged as Helm merges `-f a -f b`."""
    from offline import chart

    return chart.merge_values(*(chart.load_values(path) for path in paths))


def hub_url(values: dict[str, Any]) -> str:
    """Where the runner reaches the hub: BinderHub's hub_url (the proxy's node port)."""
    return values["binderhub"]["config"]["BinderHub"]["hub_url"].rstrip("/")


def binder_url(values: dict[str, Any]) -> str:
    """Where the runner reaches BinderHub: its Service's node port."""
    return f"http://localhost:{values['binderhub']['service']['nodePort']}"


# --- the hub and BinderHub ----------------------------------------------


@dataclass
class HubAPI:
    """The hub's REST API with one token (a service's or a user's)."""

    url: str
    token: str = field(repr=False)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"{self.url}/hub/api{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"token {self.token}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            raise CheckError(f"the hub API at {self.url}: {error}") from None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")


def user_token(hub: HubAPI, user: str, note: str = "cluster CI") -> str:
    """Make ``user`` (if new) and a one-hour API token for them."""
    status, body = hub.call("POST", f"/users/{quote(user)}")
    if status not in (201, 409):  # 409: the user exists (a re-run)
        raise CheckError(f"the hub did not make user {user}: {status} {body}")
    status, body = hub.call(
        "POST", f"/users/{quote(user)}/tokens", {"note": note, "expires_in": 3600}
    )
    if status != 201:
        message = body.get("message") if isinstance(body, dict) else body
        raise CheckError(f"the hub gave no token for {user}: {status} {message}")
    return body["token"]


def events(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The JSON events of a text/event-stream, as an EventSource reads them:
    `data:` lines up to a blank line make one event; `:` lines (BinderHub's
    keepalives) and other fields are skipped."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield json.loads("\n".join(data))
                data = []
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield json.loads("\n".join(data))


def build(
    binder: str,
    spec: str,
    token: str,
    echo: Echo = say,
    timeout: float = BUILD_TIMEOUT,
) -> dict[str, Any]:
    """``GET /build/{spec}`` with a user's token, as BinderHub's page asks;
    the ``ready`` event. Each event's phase and message is echoed, nothing
    else: the ready event also carries the notebook's token."""
    request = urllib.request.Request(
        f"{binder}/build/{spec}",
        headers={"Accept": "text/event-stream", "Authorization": f"token {token}"},
    )
    deadline = time.monotonic() + timeout
    try:
        # BinderHub sends a keepalive every 25 s: a read waits far longer.
        with urllib.request.urlopen(request, timeout=120) as stream:
            for event in events(stream):
                phase = str(event.get("phase", ""))
                message = str(event.get("message", "")).rstrip()
                echo(f"[{phase}] {message}" if message else f"[{phase}]")
                if phase == "ready":
                    return event
                if phase == "failed":
                    raise CheckError(
                        f"BinderHub: the launch of {spec} failed: {message}"
                    )
                if time.monotonic() > deadline:
                    raise CheckError(
                        f"BinderHub: {spec} not ready after {timeout:.0f} s"
                    )
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise CheckError(f"BinderHub's build API at {binder}: {error}") from None
    raise CheckError(f"BinderHub closed the event stream of {spec} before ready")


def server_of(event: dict[str, Any], user: str) -> str:
    """The server name in a ready event's URL (<hub_url>/user/<user>/<server>/)."""
    parts = urlsplit(str(event.get("url", ""))).path.rstrip("/").split("/")
    if len(parts) < 3 or parts[-3] != "user" or unquote(parts[-2]) != user:
        raise CheckError(f"the ready event's URL is not a server of {user}")
    return unquote(parts[-1])


# --- what the hub makes, and what the cluster has ------------------------


def expected_launch(
    values: dict[str, Any], spec: str, user: str, resources: Path = RESOURCES
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Pod and PVC the hub's own code makes for this launch under these
    values, offline (``python -m offline preview``, README "For admins")."""
    import yaml

    with tempfile.TemporaryDirectory(prefix="cluster-ci-") as folder:
        merged = Path(folder) / "values.yaml"
        merged.write_text(yaml.safe_dump(values), encoding="utf-8")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "offline",
                "preview",
                "--values",
                str(merged),
                "--launch",
                spec,
                "--user",
                user,
                "--resources",
                str(resources),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
    if result.returncode != 0:
        raise CheckError(f"preview of {spec}: {result.stderr.strip()}")
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    kinds = {d["kind"]: d for d in documents}
    if set(kinds) != {"Pod", "PersistentVolumeClaim"}:
        raise CheckError(f"preview gave {sorted(kinds)}, not a Pod and a claim")
    return kinds["Pod"], kinds["PersistentVolumeClaim"]


_SUFFIX = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?"
)


def quantity(value: str | int | float) -> Decimal:
    """A Kubernetes quantity as a number. The API server stores what
    KubeSpawner sends in canonical form (0.25 CPU comes back as 250m, 805306368
    bytes as 768Mi), so requests and limits are compared as numbers."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.fullmatch(value.strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number, exponent, suffix = match.groups()
    if exponent:
        return Decimal(number + exponent)
    return Decimal(number) * _SUFFIX[suffix or ""]


def container(pod: dict[str, Any], name: str = CONTAINER) -> dict[str, Any]:
    for box in pod.get("spec", {}).get("containers") or []:
        if box.get("name") == name:
            return box
    raise CheckError(f"pod {pod['metadata']['name']} has no container {name}")


def find_pod(pods: Iterable[dict[str, Any]], user: str, server: str) -> dict[str, Any]:
    """The pod of ``user``'s server ``server``, by KubeSpawner's annotations."""
    wanted = {"hub.jupyter.org/username": user, "hub.jupyter.org/servername": server}
    found = [
        pod
        for pod in pods
        if wanted.items() <= (pod["metadata"].get("annotations") or {}).items()
    ]
    if len(found) != 1:
        raise CheckError(f"{len(found)} pods for server {server} of {user}, not 1")
    return found[0]


def resource_problems(pod: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """The notebook's requests and limits against the hub's, as numbers."""
    got = container(pod).get("resources") or {}
    want = container(expected).get("resources") or {}
    problems = []
    for kind in ("requests", "limits"):
        have, should = got.get(kind) or {}, want.get(kind) or {}
        for name in sorted(set(have) | set(should)):
            if name not in have:
                problems.append(
                    f"{kind}.{name} missing; the hub asks for {should[name]}"
                )
            elif name not in should:
                problems.append(
                    f"{kind}.{name}={have[name]}, which the hub does not set"
                )
            elif quantity(have[name]) != quantity(should[name]):
                problems.append(
                    f"{kind}.{name}={have[name]}; the hub asks for {should[name]}"
                )
    return problems


Source = tuple[str, str]  # ("persistentVolumeClaim", claim name), ("secret", name) ...
Mount = tuple[str, str, bool]  # (mountPath, subPath, readOnly)


def _source(volume: dict[str, Any]) -> Source | None:
    for kind, key in (
        ("persistentVolumeClaim", "claimName"),
        ("secret", "secretName"),
        ("configMap", "name"),
    ):
        if kind in volume:
            return kind, str(volume[kind].get(key, ""))
    return None


def mounts(pod: dict[str, Any]) -> dict[Source, set[Mount]]:
    """Each claim, Secret and ConfigMap of the pod and where the notebook
    container sees it."""
    sources = {v["name"]: _source(v) for v in pod.get("spec", {}).get("volumes") or []}
    found: dict[Source, set[Mount]] = {}
    for mount in container(pod).get("volumeMounts") or []:
        source = sources.get(mount["name"])
        if source:
            found.setdefault(source, set()).add(
                (
                    mount["mountPath"],
                    mount.get("subPath", ""),
                    bool(mount.get("readOnly", False)),
                )
            )
    return found


def volume_problems(pod: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Every claim, Secret and ConfigMap the hub mounts is mounted the same way."""
    have, want = mounts(pod), mounts(expected)
    return [
        f"{kind} {name} is mounted at {sorted(have.get((kind, name), set()))}; "
        f"the hub mounts it at {sorted(paths)}"
        for (kind, name), paths in sorted(want.items())
        if have.get((kind, name)) != paths
    ]


def home_of(pod: dict[str, Any]) -> tuple[str, str]:
    """(claim name, mount path) of the pod's one persistent volume."""
    homes = [
        (name, path)
        for (kind, name), paths in mounts(pod).items()
        if kind == "persistentVolumeClaim"
        for path, _, _ in paths
    ]
    if len(homes) != 1:
        raise CheckError(
            f"pod {pod['metadata']['name']} mounts {len(homes)} claims, not 1"
        )
    return homes[0]


def contract_problems(pod: dict[str, Any], user: str) -> list[str]:
    """What the README promises every notebook, whatever the hub's settings say."""
    have = mounts(pod)
    problems = []
    claim, home = f"{user}-nfs-pvc", f"/home/{user}-nfs-pvc"
    if (home, "", False) not in have.get(("persistentVolumeClaim", claim), set()):
        problems.append(f"claim {claim} is not mounted (read-write) at {home}")
    secret_paths = {
        path
        for (kind, _), paths in have.items()
        if kind == "secret"
        for path, _, _ in paths
    }
    problems += [
        f"no key from a Secret at {p}" for p in KEY_PATHS if p not in secret_paths
    ]
    return problems


def claim_problems(claim: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """The user's claim: Bound, with the storage class and access modes the hub asks."""
    problems = []
    name = claim["metadata"]["name"]
    for key in ("storageClassName", "accessModes"):
        have, want = claim["spec"].get(key), expected["spec"].get(key)
        if have != want:
            problems.append(f"claim {name}: {key} {have}; the hub asks for {want}")
    phase = (claim.get("status") or {}).get("phase")
    if phase != "Bound":
        problems.append(f"claim {name} is {phase}, not Bound")
    return problems


# --- inside the notebook ---------------------------------------------------

#: Run in the notebook as its user: the mounts, the cgroup's limits, the keys
#: (readable and not empty; of the public key only its type is printed).
INSIDE = r"""
echo '== mounts'; cat /proc/self/mounts
echo '== memory.max'; cat /sys/fs/cgroup/memory.max 2>&1
echo '== cpu.max'; cat /sys/fs/cgroup/cpu.max 2>&1
echo '== keys'
for key in "$1" "$2"; do
  if [ -r "$key" ] && [ -s "$key" ]; then echo "ok $key"; else echo "missing $key"; fi
done
echo '== public key type'; cut -d ' ' -f 1 "$2" 2>&1
"""


def sections(text: str) -> dict[str, list[str]]:
    """INSIDE's output by `== name` heading."""
    found: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("== "):
            lines = found.setdefault(line[3:].strip(), [])
        else:
            lines.append(line)
    return found


def inside_problems(output: str, home: str, expected: dict[str, Any]) -> list[str]:
    """What INSIDE found, against the volume's path and the hub's limits."""
    found = sections(output)
    problems = []
    types = [
        line.split()[2]
        for line in found.get("mounts", [])
        if len(line.split()) > 2 and line.split()[1] == home
    ]
    if not types:
        problems.append(f"nothing is mounted at {home}")
    elif not types[-1].startswith("nfs"):
        problems.append(f"{home} is a {types[-1]} mount, not NFS")
    limits = container(expected).get("resources", {}).get("limits", {})
    memory = " ".join(found.get("memory.max", [])).strip()
    if not memory.isdigit() or Decimal(memory) != quantity(limits.get("memory", 0)):
        problems.append(
            f"cgroup memory.max is {memory!r}; the limit is {limits.get('memory')}"
        )
    cpu = " ".join(found.get("cpu.max", [])).split()
    if len(cpu) != 2 or not all(part.isdigit() for part in cpu):
        problems.append(f"cgroup cpu.max is {' '.join(cpu)!r}: no CPU limit")
    elif Decimal(cpu[0]) / Decimal(cpu[1]) != quantity(limits.get("cpu", 0)):
        problems.append(
            f"cgroup cpu.max {' '.join(cpu)} is {Decimal(cpu[0]) / Decimal(cpu[1])} "
            f"cores; the limit is {limits.get('cpu')}"
        )
    keys = found.get("keys", [])
    problems += [
        f"key file {p} is missing or empty" for p in KEY_PATHS if f"ok {p}" not in keys
    ]
    kind = " ".join(found.get("public key type", [])).strip()
    if not kind.startswith("ssh-"):
        problems.append(f"{KEY_PATHS[1]} is not an OpenSSH public key ({kind!r})")
    return problems


# --- the cluster -------------------------------------------------------------


class Cluster(Protocol):
    """What the check reads from the cluster (kubectl in CI)."""

    def pods(self) -> list[dict[str, Any]]: ...

    def claim(self, name: str) -> dict[str, Any]: ...


@dataclass
class Kubectl:
    """kubectl in the release's namespace. Nothing it is given or prints
    here is a secret, except secret_value's answer, which is only returned."""

    namespace: str = NAMESPACE
    binary: str = "kubectl"

    def _call(self, args: tuple[str, ...], timeout: float) -> tuple[str, str]:
        command = [self.binary, "--namespace", self.namespace, *args]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise CheckError(f"kubectl {' '.join(args[:2])}: {error}") from None
        if result.returncode != 0:
            raise CheckError(f"kubectl {' '.join(args[:2])}: {result.stderr.strip()}")
        return result.stdout, result.stderr

    def run(self, *args: str, timeout: float = 120) -> str:
        return self._call(args, timeout)[0]

    def warnings(self, *args: str) -> str:
        """What kubectl prints on stderr for a command that succeeds: the API
        server's warnings, one ``Warning: ...`` line each."""
        return self._call(args, 120)[1]

    def pod_security_warnings(self, level: str) -> str:
        """The API server's warnings were the namespace labelled ``level``:
        a server-side dry run, which evaluates the pods already there and
        changes nothing."""
        return self.warnings(
            "label",
            "namespace",
            self.namespace,
            "--overwrite",
            "--dry-run=server",
            f"{pod_security.LABEL}={level}",
        )

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--output", "json"))

    def pods(self) -> list[dict[str, Any]]:
        return self.json("get", "pods")["items"]

    def claim(self, name: str) -> dict[str, Any]:
        return self.json("get", "persistentvolumeclaim", name)

    def sh(self, pod: str, script: str, *args: str) -> str:
        """``sh -c script sh args...`` in the pod's notebook container."""
        return self.run(
            "exec", pod, "--container", CONTAINER, "--", "sh", "-c", script, "sh", *args
        )

    def secret_value(self, name: str, key: str) -> str:
        escaped = key.replace(".", "\\.")
        data = self.run(
            "get", "secret", name, "--output", f"jsonpath={{.data.{escaped}}}"
        )
        if not data:
            raise CheckError(f"Secret {name} has no key {key}")
        return base64.b64decode(data).decode()


@dataclass
class Launched:
    """One server that reached ``ready``, and its pod."""

    server: str
    pod: dict[str, Any]

    @property
    def pod_name(self) -> str:
        return self.pod["metadata"]["name"]


def launch_and_compare(
    cluster: Cluster,
    binder: str,
    spec: str,
    user: str,
    token: str,
    expected: tuple[dict[str, Any], dict[str, Any]],
    echo: Echo = say,
) -> tuple[Launched, list[str]]:
    """Launch ``spec`` through BinderHub and compare the pod and claim the
    cluster has with the hub's own (steps 2 and 3 of the module's docstring)."""
    pod_wanted, claim_wanted = expected
    event = build(binder, spec, token, echo)
    server = server_of(event, user)
    pod = find_pod(cluster.pods(), user, server)
    problems = (
        resource_problems(pod, pod_wanted)
        + volume_problems(pod, pod_wanted)
        + contract_problems(pod, user)
    )
    claim, _ = home_of(pod_wanted)
    problems += claim_problems(cluster.claim(claim), claim_wanted)
    return Launched(server, pod), [f"{server}: {p}" for p in problems]


def check(spec: str, user: str = USER, echo: Echo = say) -> int:
    """The whole check (the module's docstring): 0 when every step holds."""
    values = ci_values()
    kube = Kubectl()
    problems: list[str] = []
    try:
        hub = HubAPI(
            hub_url(values),
            kube.secret_value("hub", f"hub.services.{SERVICE}.apiToken"),
        )
        token = user_token(hub, user)
        expected = expected_launch(values, spec, user)
        _, home = home_of(expected[0])
        first, found = launch_and_compare(
            kube, binder_url(values), spec, user, token, expected, echo
        )
        problems += found
        problems += [
            f"{first.server}: {p}"
            for p in inside_problems(
                kube.sh(first.pod_name, INSIDE, *KEY_PATHS), home, expected[0]
            )
        ]
        marker = uuid.uuid4().hex
        path = f"{home}/cluster-ci-{marker}.txt"
        kube.sh(first.pod_name, 'printf %s "$2" > "$1"', path, marker)
        echo(f"wrote {path} in {first.server}; launching {spec} again")
        second, found = launch_and_compare(
            kube, binder_url(values), spec, user, token, expected, echo
        )
        problems += found
        if second.pod_name == first.pod_name:
            problems.append(f"the second launch came back as {first.server}'s pod")
        problems += [
            f"{second.server}: {p}"
            for p in inside_problems(
                kube.sh(second.pod_name, INSIDE, *KEY_PATHS), home, expected[0]
            )
        ]
        read = kube.sh(second.pod_name, 'cat "$1"', path)
        if read != marker:
            problems.append(f"{second.server} reads {read!r} in {path}, not {marker!r}")
    except CheckError as error:
        problems.append(str(error))
    for problem in problems:
        echo(f"FAIL: {problem}")
    if not problems:
        echo(
            f"ok: two launches of {spec} as {user}: the pods have the hub's "
            "volume, keys and .resources limits, the kernel enforces the limits, "
            "and the second notebook read the first one's file from the volume"
        )
    return 1 if problems else 0


# --- Pod Security, as the API server and the loopback cluster judge it -----

#: The pods the API server names in a namespace label's warnings, by
#: identical reasons (pod-security-admission: "POD: reason, reason", or
#: "POD (and N other pods): ..." naming the lexically first).
_POD_WARNING = re.compile(r"Warning: (\S+?)(?: \(and (\d+) other pods?\))?: (.+)")


def admission_warnings(stderr: str) -> dict[str, tuple[str, int]]:
    """reasons -> (first pod's name, how many pods), from the warnings of a
    dry-run namespace label."""
    found = {}
    for line in stderr.splitlines():
        match = _POD_WARNING.fullmatch(line.strip())
        if match:
            name, others, why = match.groups()
            found[why] = (name, 1 + int(others or 0))
    return found


def pod_security_problems(
    pods: list[dict[str, Any]], level: str, stderr: str
) -> list[str]:
    """Where fakes/pod_security.py (the loopback cluster's admission) and the
    API server disagree on which pods ``level`` refuses, and why: the same
    kinds of failure, each with as many pods and the same first one."""
    ours: dict[str, list[str]] = {}
    for pod in pods:
        why = pod_security.reasons(pod, level)
        if why:
            ours.setdefault(why, []).append(pod["metadata"]["name"])
    theirs = admission_warnings(stderr)
    problems = []
    for why, (name, count) in sorted(theirs.items()):
        names = sorted(ours.get(why, []))
        if not names:
            more = f" and {count - 1} more" if count > 1 else ""
            problems.append(
                f"{level}: the API server refuses {name}{more} ({why}); the "
                "loopback cluster refuses no such pod"
            )
        elif (names[0], len(names)) != (name, count):
            problems.append(
                f"{level}: for {why!r} the API server counts {count} pods from "
                f"{name}, the loopback cluster {len(names)} from {names[0]}"
            )
    for why in sorted(set(ours) - set(theirs)):
        problems.append(
            f"{level}: the loopback cluster refuses {', '.join(sorted(ours[why]))} "
            f"({why}); the API server names no pod for that"
        )
    return problems


def check_pod_security(echo: Echo = say, binary: str = "kubectl") -> int:
    """The release's pods (notebooks of ``check`` included) at ``baseline``
    and ``restricted``: the loopback cluster's verdict against the server's."""
    kube = Kubectl(NAMESPACE, binary)
    problems = []
    try:
        pods = kube.pods()
        for level in ("baseline", "restricted"):
            stderr = kube.pod_security_warnings(level)
            found = pod_security_problems(pods, level, stderr)
            problems += found
            if not found:
                echo(
                    f"{level}: the API server and the loopback cluster agree "
                    f"on {len(pods)} pods: {len(admission_warnings(stderr))} "
                    "kinds of failure"
                )
    except CheckError as error:
        problems.append(str(error))
    for problem in problems:
        echo(f"FAIL: {problem}")
    return 1 if problems else 0


# --- after a failure ---------------------------------------------------------


def pod_summary(pod: dict[str, Any]) -> str:
    """A pod's state in a few lines: phase, conditions, containers, volumes.
    Never its environment: KubeSpawner puts the notebook's hub token there,
    and BinderHub a build's git credentials."""
    meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    lines = [f"pod {meta['name']}: {status.get('phase')} on {spec.get('nodeName')}"]
    for condition in status.get("conditions") or []:
        why = " ".join(
            str(condition[k]) for k in ("reason", "message") if condition.get(k)
        )
        lines.append(f"  {condition['type']}={condition['status']} {why}".rstrip())
    for box in (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    ):
        state = next(iter((box.get("state") or {"unknown": {}}).items()))
        why = " ".join(
            str(state[1][k]) for k in ("reason", "message", "exitCode") if k in state[1]
        )
        lines.append(
            f"  container {box['name']}: {state[0]} {why} "
            f"(ready={box.get('ready')}, restarts={box.get('restartCount')})"
        )
    for volume in spec.get("volumes") or []:
        source = _source(volume)
        if source:
            lines.append(f"  volume {volume['name']}: {source[0]} {source[1]}")
    return "\n".join(lines)


#: (namespace, what to get) for `kubectl get`: tables, which show no Secret
#: data and no environment (the namespace is moot for nodes and volumes).
TABLES = (
    (NAMESPACE, "nodes --output wide"),
    (NAMESPACE, "storageclass,persistentvolumes --output wide"),
    (NAMESPACE, "all,persistentvolumeclaims --output wide"),
    ("kube-system", "pods --output wide"),
    (NAMESPACE, "events --sort-by=.lastTimestamp"),
    ("kube-system", "events --sort-by=.lastTimestamp"),
)
#: (namespace, what) for `kubectl logs --all-containers --tail`.
LOGS = (
    (NAMESPACE, "deploy/hub"),
    (NAMESPACE, "deploy/binder"),
    (NAMESPACE, "deploy/proxy"),
    (NAMESPACE, "daemonset/binderhub-dind"),
    (NAMESPACE, "--selector=component=binderhub-build"),
    (NAMESPACE, "--selector=component=singleuser-server"),
    ("kube-system", "deploy/csi-nfs-controller"),
    ("kube-system", "daemonset/csi-nfs-node"),
)


def report(echo: Echo = say, binary: str = "kubectl") -> int:
    """Print the cluster's state for a failed job (the module's docstring).
    Every part is tried, whatever failed before it."""

    def section(title: str, namespace: str, args: list[str]) -> None:
        echo(f"::group::{title}")
        try:
            echo(Kubectl(namespace, binary).run(*args, timeout=60))
        except CheckError as error:
            echo(str(error))
        echo("::endgroup::")

    for namespace, what in TABLES:
        section(f"kubectl get {what} ({namespace})", namespace, ["get", *what.split()])
    echo("::group::pods of the release")
    try:
        for pod in Kubectl(NAMESPACE, binary).pods():
            echo(pod_summary(pod))
    except CheckError as error:
        echo(str(error))
    echo("::endgroup::")
    for namespace, what in LOGS:
        section(
            f"logs {what} ({namespace})",
            namespace,
            [
                "logs",
                what,
                "--all-containers",
                "--tail=300",
                "--prefix",
                "--ignore-errors",
            ],
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("check", help="launch twice through BinderHub and check")
    run.add_argument("spec", help="gh/OWNER/REPO/SHA: the commit this job checked out")
    run.add_argument("--user", default=USER)
    commands.add_parser(
        "pod-security",
        help="compare the loopback cluster's Pod Security verdicts with the server's",
    )
    commands.add_parser("report", help="print the cluster's state after a failure")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.spec, args.user)
    if args.command == "pod-security":
        return check_pod_security()
    return report()


if __name__ == "__main__":
    raise SystemExit(main())
