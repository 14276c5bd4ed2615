"""pyconfig.hub.helm_test, the `helm test` probe, on its failure paths."""

from __future__ import annotations

from fakes.standins import RawFileServer
from pyconfig.hub.helm_test import check, main


def test_a_hub_without_our_configuration_is_reported():
    with RawFileServer() as server:
        server.files["/hub/api/"] = b'{"version": "5.3.0"}'
        problem = check(f"{server.url}/hub/api/")
    assert problem is not None and "pyconfig did not load" in problem


def test_an_unreachable_hub_is_reported():
    from fakes.ports import free_port

    port = free_port()  # reserved: nothing listens there
    problem = check(f"http://127.0.0.1:{port}/hub/api/", timeout=2)
    assert problem is not None and "does not answer" in problem


def test_usage():
    assert main([]) == 2


def test_the_helm_test_pod_runs_the_probe_from_its_own_volume(tmp_path):
    """The chart's test pod, laid out as the kubelet projects its volume
    (the hub's own pyconfig volume, without the admin tools), runs its
    command in its working directory against a hub that answers with the
    header: the shipped files alone make a working probe."""
    import subprocess
    import sys

    from offline import chart
    from offline.hub_pod import materialize

    objects = chart.manifests(
        chart.render(chart.load_values(chart.ROOT / "values" / "minimal.yaml"))
    )
    [pod] = [o for o in objects if o["kind"] == "Pod"]
    name = pod["metadata"]["name"]
    [box] = pod["spec"]["containers"]
    on_disk = materialize(objects, "Pod", name, box["name"], tmp_path)
    assert not on_disk.path(box["workingDir"]).joinpath("pyconfig", "admin").exists()
    with RawFileServer() as server:
        server.files["/hub/api/"] = b'{"version": "5.3.0"}'
        server.headers = {"X-Persistent-BinderHub": "0.1.0"}
        command = [sys.executable if c == "python3" else c for c in box["command"]]
        command[-1] = f"{server.url}/hub/api/"
        result = subprocess.run(
            command,
            cwd=on_disk.path(box["workingDir"]),
            capture_output=True,
            text=True,
            timeout=60,
            env={"PYTHONDONTWRITEBYTECODE": "1"},
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: hub API answers")
