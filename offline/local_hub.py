"""A real JupyterHub on loopback with the rendered release's configuration,
for the tests and `make demo`.

The values files are rendered with the chart (offline/chart.py), the hub pod's
files are laid out as the pod has them (offline/hub_pod.py), and the hub runs
z2jh's jupyterhub_config.py through offline/jupyterhub_config.py,
which changes only the network and KubeSpawner's cluster calls. The outside
world is on loopback: the raw-file server for `.resources`
(fakes/standins.py) and the Kubernetes API (fakes/kube_api.py, with the
release's RBAC), named in the values the way an admin names a GitHub
Enterprise host or an API server. Configurable-http-
proxy comes from npm.

With ``idp`` (fakes/oidc_provider.py), the login is the values files' own
GenericOAuthenticator (values/cerit.yaml's, say), with only its provider
URLs and callback on loopback (``login_values``) and the client secret in a
stand-in of the admin's Secret that the hub's ``OAUTH_CLIENT_SECRET`` names.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fakes.cluster import BINDER_TOKEN, HUB_TOKEN, KUBECONFIG
from fakes.kube_api import KubeAPI
from fakes.kubelet import node
from fakes.lifetime import bound_to_parent
from fakes.ports import free_port
from fakes.standins import RawFileServer
from fakes.workloads import NAMESPACE_POLICY, admit_release_pods
from offline import chart, hub_pod

if TYPE_CHECKING:
    from fakes.oidc_provider import OIDCProvider

ROOT = Path(__file__).resolve().parents[1]
CHP = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
#: values/minimal.yaml with the loopback hub layer: a login anyone can use.
TEST_VALUES = (ROOT / "values/minimal.yaml", ROOT / "offline/values/loopback-hub.yaml")


def _body(raw: bytes):
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode(errors="replace")  # the proxy's own pages are not JSON


#: The hub Deployment's variable GenericOAuthenticator reads its secret from.
CLIENT_SECRET_ENV = "OAUTH_CLIENT_SECRET"


def login_values(values: dict[str, Any], idp: OIDCProvider, hub_url: str) -> dict:
    """The values layer that points the values' GenericOAuthenticator at
    ``idp``: its three endpoints and the hub's callback, nothing else."""
    hub = values["binderhub"]["jupyterhub"]["hub"]
    if "GenericOAuthenticator" not in (hub.get("config") or {}):
        raise ValueError("the values configure no GenericOAuthenticator")
    return {
        "binderhub": {
            "jupyterhub": {
                "hub": {
                    "config": {
                        "GenericOAuthenticator": {
                            **idp.endpoints(),
                            "oauth_callback_url": f"{hub_url}/hub/oauth_callback",
                        },
                    }
                }
            }
        }
    }


def client_secret_standin(objects: list[dict], value: str) -> dict[str, Any]:
    """The admin's Secret the hub's OAUTH_CLIENT_SECRET comes from, as
    `kubectl create secret generic NAME --from-literal=KEY=value` makes it."""
    spec = chart.find(objects, "Deployment", "hub")["spec"]["template"]["spec"]
    [container] = [c for c in spec["containers"] if c["name"] == "hub"]
    [entry] = [e for e in container.get("env") or [] if e["name"] == CLIENT_SECRET_ENV]
    ref = entry["valueFrom"]["secretKeyRef"]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": ref["name"]},
        "type": "Opaque",
        "data": {ref["key"]: base64.b64encode(value.encode()).decode()},
    }


@dataclass
class Launch:
    """How a launch ended: the POST's status, "ready" or "failed" (or
    "refused" when the POST itself was), and the hub's last message."""

    status: int
    outcome: str
    message: str


class Hub:
    """A running hub: its public URL, recorded pods, log, and its REST API."""

    def __init__(self, url: str, pods: Path, log: Path, tokens: dict[str, str]):
        self.url, self.pods, self.log, self.tokens = url, pods, log, tokens

    def api(
        self, method: str, path: str, body: dict | None = None, service: str = "tests"
    ):
        """Call the hub API as a service (default: the tests' admin service;
        "binder" is BinderHub's own token and role), or with any token given
        as ``service="token:..."``."""
        return self.call(method, f"/hub/api{path}", body, service)

    def call(
        self, method: str, path: str, body: dict | None = None, service: str = "tests"
    ):
        """Any path of the hub's public URL (the hub, or a user's server
        through the proxy), with a service's or a given token."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self._token(service)}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _body(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _body(error.read())

    def new_token(self, user: str, note: str = "tests") -> str:
        """A new API token of ``user``, made with the tests' admin service."""
        path = f"/users/{quote(user, safe='')}/tokens"
        status, token = self.api("POST", path, {"note": note})
        if status != 201:
            raise AssertionError(f"no token for {user}: {status} {token}")
        return token["token"]

    def _token(self, service: str) -> str:
        return (
            service.removeprefix("token:")
            if service.startswith("token:")
            else (self.tokens[service])
        )

    def launch(
        self, user: str, server: str, options: dict, service: str = "binder"
    ) -> Launch:
        """Launch a named server as BinderHub's launcher does: POST the
        user_options, then follow the hub's progress events to the end.

        The chart's hub answers 202 at once (z2jh sets slow_spawn_timeout 0),
        so a refusal arrives as the failed progress event BinderHub shows."""
        path = f"/users/{quote(user, safe='')}/server"  # "": the default server
        if server:
            path += f"s/{quote(server, safe='')}"
        status, body = self.api("POST", path, options, service=service)
        if status not in (201, 202):
            message = body.get("message", "") if isinstance(body, dict) else body
            return Launch(status, "refused", str(message))
        request = urllib.request.Request(
            f"{self.url}/hub/api{path}/progress",
            headers={"Authorization": f"token {self._token(service)}"},
        )
        last: dict = {}
        with urllib.request.urlopen(request, timeout=60) as stream:
            for raw in stream:
                line = raw.decode().strip()
                if line.startswith("data:"):
                    last = json.loads(line[5:])
                    if last.get("ready") or last.get("failed"):
                        break
        outcome = "ready" if last.get("ready") else "failed"
        return Launch(status, outcome, last.get("message", ""))

    def recorded(self, user: str, server: str) -> tuple[dict, dict | None]:
        """The Pod and PVC manifests the spawner would have sent the cluster."""
        record = self.pods / f"{user}-{server}.json"
        return (
            json.loads(record.read_text()),
            json.loads(record.with_suffix(".pvc.json").read_text()),
        )


def pod_of(
    hub: Hub, user: str, server: str, namespace: str = chart.NAMESPACE
) -> dict[str, Any] | None:
    """The pod of ``user``'s ``server`` in the hub's loopback cluster."""
    for pod in hub.kube.list("pods", namespace):
        annotations = pod["metadata"].get("annotations") or {}
        if (
            annotations.get("hub.jupyter.org/username") == user
            and annotations.get("hub.jupyter.org/servername") == server
        ):
            return pod
    return None


def stop_server(hub: Hub, user: str, server: str, timeout: float = 60) -> None:
    """Stop ``user``'s ``server`` through the hub API (kept, not removed)
    and wait until its pod is gone from the loopback cluster."""
    status, body = hub.api("DELETE", f"/users/{user}/servers/{server}")
    if status not in (202, 204):
        raise AssertionError(f"stop of {user}/{server}: {status} {body}")
    deadline = time.monotonic() + timeout
    while pod_of(hub, user, server) is not None:
        if time.monotonic() > deadline:
            raise AssertionError(f"the pod of {user}/{server} was not deleted")
        time.sleep(0.2)


def pointed_at(values: dict[str, Any], raw_url: str, kube_url: str) -> dict[str, Any]:
    """The values with the hub's outside world on loopback: repository files
    from the raw-file stand-in, the Kubernetes API from its stand-in."""
    return chart.merge_values(
        values,
        {
            "binderhub": {
                "jupyterhub": {
                    "hub": {
                        "config": {
                            "RepoFileFetcher": {
                                "github_raw_urls": {
                                    "github.com": raw_url + "/{repo}/{commit}/{path}"
                                }
                            },
                            "KubeSpawner": {"k8s_api_host": kube_url},
                        }
                    }
                }
            }
        },
    )


def service_tokens(objects: list[dict[str, Any]]) -> dict[str, str]:
    """Each hub service's API token, from the rendered hub Secret."""
    secret = chart.find(objects, "Secret", "hub")
    prefix, suffix = "hub.services.", ".apiToken"
    return {
        key[len(prefix) : -len(suffix)]: base64.b64decode(value).decode()
        for key, value in secret["data"].items()
        if key.startswith(prefix) and key.endswith(suffix)
    }


#: The release's objects installed on the loopback cluster, as `helm
#: install` would, by kind: what pods mount, and the namespace's admission.
INSTALLED = {
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Service": "services",
    **NAMESPACE_POLICY,
}


@contextmanager
def _kubernetes(
    values: dict[str, Any],
    state: Path,
    cluster: bool,
    namespace_labels: dict[str, dict[str, str]] | None = None,
):
    """The Kubernetes API the hub talks to, with the release's RBAC, and the
    node running its pods (None without ``cluster``: the API is empty, and
    the recording spawner runs no pods).
    ``namespace_labels``: what an admin labelled each namespace with."""
    # The Roles and ConfigMaps do not depend on the API's address: render
    # once to read them, and install what pods mount, as `helm install` does.
    release = chart.manifests(chart.render(pointed_at(values, "http://x", "http://x")))
    if not cluster:
        with KubeAPI.for_release(release, {"hub": HUB_TOKEN}) as kube:
            yield kube, None
        return
    with (
        KubeAPI.for_release(
            release, {"hub": HUB_TOKEN, "binderhub": BINDER_TOKEN}
        ) as kube,
        node(kube, state / "node") as kubelet,
    ):
        kube.namespace_labels.update(copy.deepcopy(namespace_labels or {}))
        kubelet.storage_classes.update(
            {o["metadata"]["name"]: o for o in release if o["kind"] == "StorageClass"}
        )
        for obj in release:
            if obj["kind"] in INSTALLED:
                where = obj["metadata"].get("namespace") or chart.NAMESPACE
                kube.create(INSTALLED[obj["kind"]], where, obj)
        # The release's own pods pass the namespace's LimitRange and quota
        # first, as their controllers' creates would on a real cluster.
        admit_release_pods(kube, release, chart.NAMESPACE)
        yield kube, kubelet


@contextmanager
def local_hub(
    state: Path,
    files: dict[str, bytes],
    values_files: tuple[Path, ...] = TEST_VALUES,
    cluster: bool = False,
    idp: OIDCProvider | None = None,
    namespace_labels: dict[str, dict[str, str]] | None = None,
) -> Iterator[Hub]:
    """Start the hub for ``values_files`` with ``files`` served as raw
    repository files; stop it after. With ``cluster``, KubeSpawner's own
    start() runs against the loopback cluster (fakes/kube_api.py) and the
    pods run as notebook processes (fakes/kubelet.py), in namespaces with
    ``namespace_labels`` (Pod Security's among them). With ``idp``, users
    log in there (the module's docstring)."""
    if not CHP.exists():
        raise RuntimeError("run `make setup` (npm ci) for configurable-http-proxy")
    pods = state / "pods"
    pods.mkdir(parents=True, exist_ok=True)
    log = state / "hub.log"
    values = chart.merge_values(*(chart.load_values(p) for p in values_files))
    proxy_port = free_port()
    hub_url = f"http://127.0.0.1:{proxy_port}"
    client_secret = secrets.token_urlsafe(32)
    if idp is not None:
        values = chart.merge_values(values, login_values(values, idp, hub_url))
        hub_config = values["binderhub"]["jupyterhub"]["hub"]["config"]
        idp.register_client(
            hub_config["GenericOAuthenticator"]["client_id"],
            client_secret,
            [f"{hub_url}/hub/oauth_callback"],
        )
    with (
        RawFileServer() as raw,
        _kubernetes(values, state, cluster, namespace_labels) as (
            kube,
            kubelet,
        ),
    ):
        raw.files.update(files)
        objects = chart.manifests(chart.render(pointed_at(values, raw.url, kube.url)))
        if idp is not None:
            standin = client_secret_standin(objects, client_secret)
            objects.append(standin)
            if cluster:
                kube.create("secrets", chart.NAMESPACE, standin)
        pod = hub_pod.hub_pod(objects, state / "pod")
        env = {
            **os.environ,
            **pod.env,
            # The hub image's python3 (the culler service runs `python3 -m ...`).
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "PROJECT_ROOT": str(ROOT),
            "RENDERED_HUB_CONFIG": str(
                pod.path(hub_pod.HUB_CONFIG_DIR) / "jupyterhub_config.py"
            ),
            "KUBECONFIG": str(KUBECONFIG),
            "HUB_PROXY_PORT": str(proxy_port),
            "HUB_PORT": str(free_port()),
            "PROXY_API_PORT": str(free_port()),
            "CHP_COMMAND": str(CHP),
            "RECORDED_PODS": str(pods),
            **({"LOOPBACK_CLUSTER": "1"} if cluster else {}),
        }
        config = ROOT / "offline" / "jupyterhub_config.py"
        args = [a for a in pod.args[1:] if a.startswith("--") and a != "--config"]
        log.write_text("")

        def start() -> subprocess.Popen:
            with log.open("a") as output:
                return subprocess.Popen(
                    bound_to_parent(
                        [sys.executable, "-m", "jupyterhub", "-f", str(config), *args]
                    ),
                    cwd=state,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )

        running = Hub(hub_url, pods, log, service_tokens(objects))
        running.stand_in_urls = (raw.url, kube.url)
        running.idp, running.client_secret = idp, client_secret
        running.raw = raw
        running.objects = objects
        running.kube, running.kubelet = kube, kubelet

        def answers() -> bool:
            return running.api("GET", "/", service="binder")[0] == 200

        def restart() -> None:
            """Stop the hub process and start it again on the same state (its
            database), as a hub pod replaced by Kubernetes does."""
            stop(running.process)
            running.process = start()
            wait_until_ready(running.process, log, answers, "hub")

        running.restart = restart
        running.process = start()
        try:
            wait_until_ready(running.process, log, answers, "hub")
            yield running
        finally:
            stop(running.process)


@contextmanager
def serving(
    process: subprocess.Popen, log: Path, ready: Callable[[], bool], what: str
) -> Iterator[None]:
    """Wait until ``ready()``, then hand over; stop the process after,
    however the block ends."""
    try:
        wait_until_ready(process, log, ready, what)
        yield
    finally:
        stop(process)


def wait_until_ready(
    process: subprocess.Popen, log: Path, ready: Callable[[], bool], what: str
) -> None:
    """Until ``ready()`` (at most a minute), or the process has ended."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if ready():
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL after 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)
