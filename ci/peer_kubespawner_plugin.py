"""pytest plugin (``-p``): KubeSpawner 7.0.0's own tests on the loopback cluster.

Their conftest.py is used unchanged; this plugin supplies only what a
cluster would, and says here how:

- the cluster: before their conftest is imported (it loads the kubeconfig
  at import), ``pytest_load_initial_conftests`` starts ci/peer_cluster.py
  (API + node, with the project's Python, bound to this process by
  fakes/lifetime.py) and points ``KUBECONFIG`` at it; the real
  kubernetes_asyncio and sync kubernetes clients talk to it over HTTP.
  ``pytest_unconfigure`` stops it, and with it every pod's process.
- namespaces, all-namespace lists and exec into a pod are served by the
  API itself (fakes/kube_api.py: Namespace objects, pods/exec over a
  WebSocket, run by the node in the pod's mount namespace with its env), so
  their ``kube_client`` and ``_exec_python_in_pod`` run as written.
- the hub pod: their ``create_hub_pod`` runs as written and the node runs
  the real ``jupyterhub -f /etc/jupyterhub/jupyterhub_config.py`` (the
  config at that path in the pod's /etc, its internal-ssl tar extracted
  there). Loopback has no network namespace: their config listens on
  0.0.0.0, so two hub pods (hub, hub-ssl) would take the same ports. So
  their helper ``create_resource``, which their fixtures look up at call
  time, is wrapped to add three arguments to a hub pod's container before
  it is created: the hub, the proxy and its API listen on the pod's own
  address (``$(POD_IP)``, expanded by the node from a downward-API env
  var). A ``-p`` plugin's fixtures rank below conftest's, hence a wrapped
  helper rather than a fixture of ours.

What still differs from a cluster (details in the module docstrings of
fakes/kube_api.py and fakes/kubelet.py): no images (every pod runs the
programs of this virtualenv, which has JupyterLab as the singleuser image
does); no network namespace (hence the hub's arguments above; Services
resolve through each pod's /etc/hosts to a pod they select, with no virtual
IP); only /etc and the host name are the container's own, the rest of the
file system is the host's; exec has no stdin or tty and sends its output
when the command ends. All this needs root (CI runs as root).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakes.lifetime import bound_to_parent

#: The project's Python (with helm-python etc.), which runs the cluster.
CLUSTER_PYTHON = os.environ.get("PEER_CLUSTER_PYTHON", sys.executable)
ROOT = Path(__file__).resolve().parents[1]

_cluster: subprocess.Popen[str] | None = None
_state: tempfile.TemporaryDirectory[str] | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Start the cluster and write the kubeconfig their conftest loads."""
    global _cluster, _state
    _state = tempfile.TemporaryDirectory(prefix="peer-cluster-")
    state = Path(_state.name)
    _cluster = subprocess.Popen(
        bound_to_parent(
            [
                CLUSTER_PYTHON,
                "-m",
                "ci.peer_cluster",
                str(state / "node"),
                str(Path(sys.executable).parent),
            ]
        ),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = _cluster.stdout.readline().strip() if _cluster.stdout else ""
    if not url.startswith("http://"):
        raise pytest.UsageError("the loopback cluster did not start")
    kubeconfig = state / "kubeconfig.yaml"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "loopback", "cluster": {"server": url}}],
                "users": [{"name": "peer", "user": {"token": "peer-suite"}}],
                "contexts": [
                    {
                        "name": "loopback",
                        "context": {"cluster": "loopback", "user": "peer"},
                    }
                ],
                "current-context": "loopback",
            }
        )
    )
    os.environ["KUBECONFIG"] = str(kubeconfig)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the cluster: the node stops every pod's process first."""
    global _cluster, _state
    if _cluster is not None:
        if _cluster.stdin:
            _cluster.stdin.close()
        try:
            _cluster.wait(60)
        except subprocess.TimeoutExpired:
            _cluster.kill()
            _cluster.wait()
        _cluster = None
    if _state is not None:
        _state.cleanup()
        _state = None


@pytest.hookimpl(trylast=True)
def pytest_plugin_registered(plugin: Any) -> None:
    """Wrap their conftest's ``create_resource`` once it is registered."""
    original = getattr(plugin, "create_resource", None)
    if (
        getattr(plugin, "__name__", "") != "conftest"
        or not hasattr(plugin, "create_hub_pod")
        or original is None
        or getattr(original, "_loopback", False)
    ):
        return

    async def create_resource(kube_client, kube_ns, resource_type, manifest, **kw):  # type: ignore[no-untyped-def]
        if resource_type == "pod":
            _on_loopback(manifest)
        return await original(kube_client, kube_ns, resource_type, manifest, **kw)

    create_resource._loopback = True  # type: ignore[attr-defined]
    plugin.create_resource = create_resource


def _on_loopback(pod: Any) -> None:
    """A hub pod's container listens on the pod's own address."""
    labels = (pod.metadata or {}).get("labels") or {}
    if labels.get("component") != "hub":
        return
    ssl = any("secret" in volume for volume in pod.spec.volumes or [])
    container = pod.spec.containers[0]
    container.setdefault("env", []).append(
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
    )
    container["args"] = [
        *container["args"],
        "--JupyterHub.hub_ip=$(POD_IP)",
        "--JupyterHub.ip=$(POD_IP)",
        f"--ConfigurableHTTPProxy.api_url={'https' if ssl else 'http'}://$(POD_IP):8001",
    ]
