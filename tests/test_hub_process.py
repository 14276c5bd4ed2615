"""A real JupyterHub process with configurable-http-proxy, launched like BinderHub does.

The hub runs this project's configuration (tests/hub_process); the spawner is
KubeSpawner with only its cluster calls replaced, raw files and Secrets come
from the loopback stand-ins. Launches go through the hub's REST API with the
body BinderHub's launcher sends.
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
from pathlib import Path

import pytest

from .conftest import DATA, ROOT
from .hub_setup import SHA, github
from .standins import KubeAPIStandIn, RawFileServer

CHP = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
TOKEN = "binder-service-token-for-tests"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Hub:
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


def _body(raw: bytes):
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode(errors="replace")  # the proxy's own pages are not JSON


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    assert CHP.exists(), "run `make setup` (npm ci) for configurable-http-proxy"
    state = tmp_path_factory.mktemp("hub")
    pods = state / "pods"
    pods.mkdir()
    log = state / "hub.log"
    with RawFileServer() as raw, KubeAPIStandIn() as kube:
        raw.files[f"/owner/good/{SHA}/.resources"] = b"cpur=2\ncpul=4\nmeml=8\n"
        raw.files[f"/owner/broken/{SHA}/.resources"] = b"cpur=2\ncpu=2\nmeml=8GB\n"
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
        with log.open("w") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyterhub",
                    "-f",
                    str(ROOT / "tests" / "hub_process" / "jupyterhub_config.py"),
                ],
                cwd=state,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
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
                    pytest.fail(f"hub did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
            running.api("POST", "/users/alice")
            yield running
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_broken_resources_is_refused_with_line_numbers_through_the_api(hub):
    status, body = hub.api(
        "POST", "/users/alice/servers/broken-x1", github("owner", "broken")
    )
    assert status == 400, body
    message = body["message"]
    assert "github.com/owner/broken at 0123456789ab" in message
    assert ".resources:2: `cpu=2`: unknown key 'cpu'; did you mean cpur or cpul?" in (
        message
    )
    assert ".resources:3: `meml=8GB`: meml is always in GB" in message
    assert not (hub.pods / "alice-broken-x1.json").exists()


def test_good_resources_reach_the_spawner(hub):
    status, body = hub.api(
        "POST", "/users/alice/servers/good-x1", github("owner", "good")
    )
    assert status in (201, 202), body
    pod = json.loads((hub.pods / "alice-good-x1.json").read_text())
    container = pod["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == 2.0
    assert container["resources"]["limits"]["cpu"] == 4.0
    assert container["resources"]["limits"]["memory"] == 8 * 1024**3
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["BINDERHUB_RESOURCES_SOURCE"].startswith("from .resources of github.com")
    assert "BEGIN OPENSSH PRIVATE KEY" not in hub.log.read_text()


def test_hub_answers_with_the_header_helm_test_checks(hub):
    """What the chart's `helm test` pod runs, against the real hub."""
    from pyconfig.hub_check import check

    assert check(f"{hub.url}/hub/api/") is None
