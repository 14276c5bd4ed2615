"""The real BinderHub app on loopback, in front of the hub of
``local_hub(..., cluster=True)``, as that hub's ``binder`` service.

BinderHub is ``python -m binderhub`` from .venv-binderhub (the wheel in
../shared/wheels), started with the binder pod's own arguments and
environment and the chart's own binderhub_config.py, laid out by
offline/hub_pod.materialize as tests/chart/test_binder_pod.py lays them out
(``--config`` and ``DOCKER_CONFIG`` point into the folder that stands for
``/``, ``HOME`` is its /root, the one fixed path in binderhub_config.py points
there too). Auth is on and the named-server limit (5) comes from the pod's
environment, as the chart sets them.

What a machine without a cluster, a registry, Docker and the internet forces,
and nothing else, each a chart value in one values layer (``loopback_values``)
that the hub's render and the binder pod's render both get:

- ``BinderHub.port``: a free port instead of the container's 8585. BinderHub
  has no listen address setting, so it listens on every interface at that
  port (in the cluster, on the pod's address).
- ``hub.services.binder.oauth_redirect_uri``: BinderHub's own OAuth callback
  on that port, so the hub's OAuth client for the service and the binder
  pod's ``JUPYTERHUB_OAUTH_CALLBACK_URL`` (rendered from this value) name
  where BinderHub listens. The chart gives the service no ``url`` (BinderHub
  is not behind the hub's proxy), and neither does this.
- ``BinderHub.build_class``: BinderHub's own ``binderhub.build.FakeBuild``
  (streams its build log lines, builds nothing), instead of build pods.
- ``BinderHub.registry_class``: BinderHub's own
  ``binderhub.registry.FakeRegistry`` (holds no image, so every request
  builds), with ``use_registry`` left on as the chart has it.
- ``GitHubRepoProvider.api_base_path``: a GitHub API stand-in on loopback
  (``github_api``: a RawFileServer answering
  ``/repos/{owner}/{repo}/commits/{ref}`` with the commit's JSON). The
  provider's ``hostname`` stays github.com, so the repository URL, the
  ``binder_ref_url`` and the ``binder_persistent_request`` BinderHub sends
  the hub are GitHub's, and the hub's fetcher reads ``.resources`` from the
  raw-file stand-in local_hub already runs for github.com.

And one value only the binder pod's render gets, because it is known only
once the hub runs: ``BinderHub.hub_url``, the hub's loopback URL (the chart
renders the pod's ``JUPYTERHUB_API_URL`` from it). That second render makes
new random Secrets, so the binder pod's ``hub`` Secret key
``hub.services.binder.apiToken`` is set to the running hub's (in a cluster
both pods read the one Secret). Secrets the admin creates (the registry pull
Secret the pod mounts) are stand-ins of the same name and type with
placeholder credentials; FakeRegistry never reads them.

BinderHub's Kubernetes client talks to the hub's loopback cluster as its
own service account (``binderhub``): a kubeconfig with that account's token
stands for the pod's mounted one, so its calls (the periodic build-pod
cleanup) get exactly the rendered binder Role's permissions. FakeBuild, the
launch path and the launch quota (no ``pod_quota`` set) make no Kubernetes
calls.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fakes.lifetime import bound_to_parent
from fakes.ports import free_port
from fakes.standins import RawFileServer
from offline import chart, hub_pod
from offline.chart import NAMESPACE
from offline.local_hub import (
    BINDER_TOKEN,
    ROOT,
    TEST_VALUES,
    Hub,
    local_hub,
    serving,
)

if TYPE_CHECKING:
    from fakes.oidc_provider import OIDCProvider

BINDERHUB_PYTHON = ROOT / ".venv-binderhub" / "bin" / "python"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@contextmanager
def github_api(commits: dict[tuple[str, str, str], str]) -> Iterator[RawFileServer]:
    """The GitHub API paths GitHubRepoProvider reads to resolve a ref:
    ``commits`` maps (owner, repo, ref) to the commit SHA."""
    with RawFileServer() as api:
        for (owner, repo, ref), sha in commits.items():
            api.files[f"/repos/{owner}/{repo}/commits/{ref}"] = json.dumps(
                {"sha": sha}
            ).encode()
        yield api


def loopback_values(port: int, github_api_url: str) -> dict[str, Any]:
    """The values layer of this module's docstring, for both renders."""
    binder_url = f"http://127.0.0.1:{port}"
    return {
        "binderhub": {
            "config": {
                "BinderHub": {
                    "port": port,
                    "build_class": "binderhub.build.FakeBuild",
                    "registry_class": "binderhub.registry.FakeRegistry",
                },
                "GitHubRepoProvider": {"api_base_path": github_api_url},
            },
            "jupyterhub": {
                "hub": {
                    "services": {
                        "binder": {
                            "oauth_redirect_uri": f"{binder_url}/oauth_callback",
                        }
                    }
                }
            },
        }
    }


@dataclass
class Binder:
    """A running BinderHub: its URL, log, and the GitHub API stand-in."""

    url: str
    log: Path
    github: RawFileServer
    process: subprocess.Popen = field(repr=False)

    def build(self, spec: str, token: str, timeout: float = 120) -> list[dict]:
        """``GET /build/{spec}`` as BinderHub's page does it (an EventSource
        request), with a hub API token; the events up to ``ready`` or
        ``failed`` (or the end of the stream)."""
        request = urllib.request.Request(
            f"{self.url}/build/{spec}",
            headers={"Accept": "text/event-stream", "Authorization": f"token {token}"},
        )
        deadline = time.monotonic() + timeout
        events: list[dict] = []
        with urllib.request.urlopen(request, timeout=40) as stream:
            for raw in stream:
                line = raw.decode().strip()
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if events[-1].get("phase") in ("ready", "failed"):
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no ready or failed event: {events}")
        return events


def _hub_secret_with(objects: list[dict], key: str, value: str) -> list[dict]:
    """The release with one key of the hub Secret set to ``value``."""
    objects = copy.deepcopy(objects)
    secret = chart.find(objects, "Secret", "hub")
    secret["data"][key] = b64(value)
    return objects


def _kubeconfig(hub: Hub, state: Path) -> Path:
    """A kubeconfig for BinderHub's service account on the hub's loopback
    cluster, as the binder pod's mounted token gives it on a cluster."""
    path = state / "binder-kubeconfig.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "loopback", "cluster": {"server": hub.kube.url}}],
                "users": [{"name": "binderhub", "user": {"token": BINDER_TOKEN}}],
                "contexts": [
                    {
                        "name": "loopback",
                        "context": {
                            "cluster": "loopback",
                            "user": "binderhub",
                            "namespace": NAMESPACE,
                        },
                    }
                ],
                "current-context": "loopback",
            }
        )
    )
    return path


@contextmanager
def local_binder(
    hub: Hub, values: dict[str, Any], github: RawFileServer, state: Path
) -> Iterator[Binder]:
    """Start BinderHub for ``values`` (the hub's values and this module's
    layer) in front of ``hub``; stop it after."""
    values = chart.merge_values(
        values, {"binderhub": {"config": {"BinderHub": {"hub_url": hub.url}}}}
    )
    objects = chart.manifests(chart.render(values))
    objects = _hub_secret_with(
        objects, "hub.services.binder.apiToken", hub.tokens["binder"]
    )
    # The registry Secrets the admin creates: placeholders (FakeRegistry).
    standins = hub_pod.registry_secret_standins(
        objects, "registry.invalid", "placeholder", "placeholder"
    )
    _, env, args = hub_pod.binder_pod(
        [*objects, *standins], state / "pod", _kubeconfig(hub, state)
    )
    port = values["binderhub"]["config"]["BinderHub"]["port"]
    url = f"http://127.0.0.1:{port}"
    log = state / "binderhub.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            bound_to_parent([str(BINDERHUB_PYTHON), "-m", "binderhub", *args]),
            cwd=state,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def answers() -> bool:  # the chart's readiness probe
        with urllib.request.urlopen(f"{url}/versions", timeout=5) as answer:
            return answer.status == 200

    with serving(process, log, answers, "BinderHub"):
        yield Binder(url, log, github, process)


@contextmanager
def hub_and_binder(
    state: Path,
    files: dict[str, bytes],
    commits: dict[tuple[str, str, str], str],
    values_files: tuple[Path, ...] = TEST_VALUES,
    idp: OIDCProvider | None = None,
    namespace_labels: dict[str, dict[str, str]] | None = None,
) -> Iterator[tuple[Hub, Binder]]:
    """``local_hub(..., cluster=True)`` with ``files`` as raw repository
    files, and BinderHub in front of it resolving ``commits``; with ``idp``,
    users log in there; ``namespace_labels`` as local_hub's."""
    state.mkdir(parents=True, exist_ok=True)
    with github_api(commits) as github:
        layer = state / "binder-loopback.yaml"
        layer.write_text(yaml.safe_dump(loopback_values(free_port(), github.url)))
        layers = (*values_files, layer)
        values = chart.merge_values(*(chart.load_values(p) for p in layers))
        with (
            local_hub(
                state / "hub",
                files,
                values_files=layers,
                cluster=True,
                idp=idp,
                namespace_labels=namespace_labels,
            ) as hub,
            local_binder(hub, values, github, state / "binder") as binder,
        ):
            yield hub, binder
