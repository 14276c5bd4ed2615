"""pyconfig.hub.helm_test, the `helm test` probe, on its failure paths."""

from __future__ import annotations

import socket

from pyconfig.hub.helm_test import check, main

from .standins import RawFileServer


def test_a_hub_without_our_configuration_is_reported():
    with RawFileServer() as server:
        server.files["/hub/api/"] = b'{"version": "5.3.0"}'
        problem = check(f"{server.url}/hub/api/")
    assert problem is not None and "pyconfig did not load" in problem


def test_an_unreachable_hub_is_reported():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    problem = check(f"http://127.0.0.1:{port}/hub/api/", timeout=2)
    assert problem is not None and "does not answer" in problem


def test_usage():
    assert main([]) == 2
