"""Shared fixtures: the repository root and a real hub User with KubeSpawner;
and the suite's check that no test leaves a process of its own running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fakes import lifetime
from fakes.cluster import KUBECONFIG

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

# Before kubespawner is imported anywhere: see fakes/kubeconfig.yaml.
os.environ["KUBECONFIG"] = str(KUBECONFIG)


@pytest.fixture
def make_spawner():
    """Build a real KubeSpawner the way JupyterHub does, through a hub User.

    Must be called inside a running event loop (KubeSpawner's rule).
    """
    from traitlets.config import Config

    from offline.hub_pod import build_spawner

    sessions = []

    def build(config=None, username="alice", server="project"):
        spawner = build_spawner(config or Config(), username, server)
        sessions.append(spawner.user.db)
        return spawner

    yield build
    for db in sessions:
        db.close()


@pytest.fixture
def raw():
    """The raw-file stand-in repositories' `.resources` are read from."""
    from fakes.standins import RawFileServer

    with RawFileServer() as server:
        yield server


@pytest.fixture
def kube():
    """An empty loopback Kubernetes API with values/cerit.yaml's RBAC for the
    hub's token: the hook's calls meet the rendered hub Role's grants."""
    from offline.hub_setup import cerit_api

    with cerit_api() as api:
        yield api


@pytest.fixture
def config(raw, kube):
    """values/cerit.yaml's hub configuration aimed at ``raw`` and ``kube``."""
    from offline.hub_setup import cerit_config

    return cerit_config(raw.url, kube.url)


@pytest.fixture(autouse=True)
def _fresh_kubernetes_config():
    """KubeSpawner caches its Kubernetes config by API host. Each test's
    stand-in listens on a fresh port, and the OS may hand out a port an earlier
    test used: forget the cache so the client never aims at a stale port."""
    from kubespawner.clients import load_config

    load_config.cache_clear()
    yield


@pytest.fixture(params=["curl", "simple"])
def http_client(request, monkeypatch):
    """The hub's AsyncHTTPClient and the fetcher's client, both of one kind:
    tornado's simple client, and pycurl's, which z2jh makes the hub's."""
    from tornado.curl_httpclient import CurlAsyncHTTPClient
    from tornado.httpclient import AsyncHTTPClient
    from tornado.simple_httpclient import SimpleAsyncHTTPClient

    from pyconfig.hub.repo_files import RepoFileFetcher

    chosen = {"simple": SimpleAsyncHTTPClient, "curl": CurlAsyncHTTPClient}[
        request.param
    ]
    saved = AsyncHTTPClient._save_configuration()
    AsyncHTTPClient.configure(chosen)
    monkeypatch.setattr(RepoFileFetcher, "client_class", chosen)
    yield request.param
    AsyncHTTPClient._restore_configuration(saved)


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium from Debian, driven through chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=Service(executable_path="/usr/bin/chromedriver"), options=options
    )
    yield driver
    driver.quit()


#: Seconds a module's processes get to end after its last teardown (Chromium's
#: helpers and a stopped pod's process end a moment after they were told).
PROCESS_GRACE = 20.0


def pytest_configure(config):
    """Adopt orphans: a process whose parent died (a hub's proxy, a killed
    demo's notebook) stays a descendant of the test run, where the checks
    below find it."""
    lifetime.become_subreaper()


def _left_running(before: set[int]) -> list[str]:
    """The processes started since ``before`` that still run after the
    grace period, killed, as lines for a report."""
    left = lifetime.wait_gone(lifetime.descendants() - before, PROCESS_GRACE)
    report = [f"  {pid}: {lifetime.command_line(pid)}" for pid in sorted(left)]
    lifetime.kill(left)
    return report


@pytest.fixture(scope="module", autouse=True)
def _no_process_left_by_module(request):
    """Every process a module's tests and fixtures start has ended once the
    module's last fixture is torn down, on failure too."""
    before = lifetime.descendants()
    yield
    report = _left_running(before)
    if report:
        pytest.fail(
            f"{request.module.__name__} left processes running (killed now):\n"
            + "\n".join(report),
            pytrace=False,
        )


def pytest_sessionfinish(session, exitstatus):
    """The last word: nothing the run started is still running."""
    report = _left_running(set())
    lifetime.reap_orphans()
    if report:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            "processes left running at the end of the run (killed now):\n"
            + "\n".join(report),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
