"""A real JupyterHub on loopback, configured like the chart, for tests and `make demo`.

The hub runs tests/hub_process/jupyterhub_config.py with configurable-http-proxy
from npm; raw files and Kubernetes Secrets come from the loopback stand-ins;
the spawner records its pod and serves a stand-in notebook (notebooks
themselves need the real chart on Kubernetes).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..standins import KubeAPIStandIn, RawFileServer

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CHP = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
TOKEN = "binder-service-token-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _body(raw: bytes):
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode(errors="replace")  # the proxy's own pages are not JSON


class Hub:
    """A running hub: its public URL, recorded pods, log, and its REST API."""

    def __init__(self, url: str, pods: Path, log: Path):
        self.url, self.pods, self.log = url, pods, log

    def api(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"{self.url}/hub/api{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {TOKEN}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _body(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _body(error.read())


@contextmanager
def local_hub(state: Path, files: dict[str, bytes]) -> Iterator[Hub]:
    """Start the hub with ``files`` served as raw repository files; stop it after."""
    if not CHP.exists():
        raise RuntimeError("run `make setup` (npm ci) for configurable-http-proxy")
    pods = state / "pods"
    pods.mkdir(parents=True, exist_ok=True)
    log = state / "hub.log"
    with RawFileServer() as raw, KubeAPIStandIn() as kube:
        raw.files.update(files)
        proxy_port = free_port()
        env = {
            **os.environ,
            "PYCONFIG_ROOT": str(ROOT),
            "KUBECONFIG": str(DATA / "kubeconfig.yaml"),
            "HUB_PROXY_PORT": str(proxy_port),
            "HUB_PORT": str(free_port()),
            "PROXY_API_PORT": str(free_port()),
            "CHP_COMMAND": str(CHP),
            "HUB_STATE": str(state),
            "BINDER_TOKEN": TOKEN,
            "KUBE_URL": kube.url,
            "RAW_URL": raw.url,
            "RECORDED_PODS": str(pods),
        }
        config = ROOT / "tests" / "hub_process" / "jupyterhub_config.py"
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(config)],
                cwd=state, env=env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        running = Hub(f"http://127.0.0.1:{proxy_port}", pods, log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if running.api("GET", "/")[0] == 200:
                        break
                except (urllib.error.URLError, ConnectionError):
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"hub did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
            yield running
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
