"""``python -m offline preview``: an admin's view of a launch, in a subprocess.

The hub configuration it uses is the rendered release's, run through z2jh's
own jupyterhub_config.py (offline/hub_pod.py); test_hub_pod.py shows that a
real hub makes the same Pod.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import yaml

from offline.hub_setup import GPU_TOLERATION
from pyconfig.admin.launch_request import SpecError, user_options
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # each preview is a process that renders the release


def preview(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "offline", "preview", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_prints_pod_then_pvc_with_the_files_resources(tmp_path):
    resources = tmp_path / ".resources"
    resources.write_text("gpu=1\ncpur=2\nmeml=32\n")
    result = preview(
        "--values",
        "values/cerit.yaml",
        "--launch",
        "gh/owner/repo/main",
        "--user",
        "alice",
        "--resources",
        str(resources),
    )
    assert result.returncode == 0, result.stderr
    pod, pvc = yaml.safe_load_all(result.stdout)
    assert (pod["kind"], pvc["kind"]) == ("Pod", "PersistentVolumeClaim")
    container = pod["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["resources"]["requests"]["cpu"] == 2.0
    assert container["resources"]["limits"]["memory"] == 32 * 1024**3
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["spec"]["automountServiceAccountToken"] is False  # API field names
    assert pvc["metadata"]["name"] == "alice-nfs-pvc"
    assert pvc["spec"]["storageClassName"] == "nfs-csi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    user_pods = {
        "key": "hub.jupyter.org/dedicated",
        "operator": "Equal",
        "value": "user",
        "effect": "NoSchedule",
    }
    assert user_pods in pod["spec"]["tolerations"]  # z2jh's, from the real config
    assert GPU_TOLERATION in pod["spec"]["tolerations"]


def test_prints_only_the_objects_and_nothing_of_this_machine(tmp_path):
    empty = tmp_path / ".resources"
    empty.write_text("")
    result = preview(
        "--values",
        "values/minimal.yaml",
        "--launch",
        "gh/owner/repo/main",
        "--resources",
        str(empty),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no alembic, traitlets or z2jh lines
    assert result.stdout.startswith("---\napiVersion: v1\nkind: Pod\n")
    pod, _ = yaml.safe_load_all(result.stdout)
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"  # z2jh's Service
    assert socket.gethostname() not in result.stdout
    image = pod["spec"]["containers"][0]["image"]
    assert image == "(the image BinderHub builds for gh/owner/repo/main)"


def test_verbose_shows_the_hubs_own_lines(tmp_path):
    empty = tmp_path / ".resources"
    empty.write_text("")
    result = preview(
        "--values",
        "values/minimal.yaml",
        "--launch",
        "gh/owner/repo/main",
        "--resources",
        str(empty),
        "--verbose",
        "--image",
        "r.example/i:1",
    )
    assert result.returncode == 0, result.stderr
    assert "Loading extra config: 10-persistent-binderhub" in result.stderr
    assert "image: r.example/i:1" in result.stdout


def test_a_values_file_the_chart_refuses_is_a_usage_error(tmp_path):
    values = tmp_path / "bad.yaml"
    values.write_text(
        "binderhub:\n  jupyterhub:\n    hub:\n      config:\n"
        "        UserStorage: {capacity: lots}\n"
    )
    result = preview("--values", str(values), "--launch", "gh/owner/repo/main")
    assert result.returncode == 2
    assert "capacity" in result.stderr and "Traceback" not in result.stderr


def test_refused_launch_exits_1_with_the_users_message(tmp_path):
    resources = tmp_path / ".resources"
    resources.write_text("gpu=5\n")
    result = preview(
        "--values",
        "values/cerit.yaml",
        "--launch",
        "gh/owner/repo/main",
        "--resources",
        str(resources),
    )
    assert result.returncode == 1
    assert "gpu is over this service's cap of 2 GPUs (ResourcePolicy.max_gpu)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""


def test_bad_spec_is_a_usage_error():
    result = preview("--values", "values/minimal.yaml", "--launch", "zenodo/123")
    assert result.returncode == 2
    assert "gh/OWNER/REPO/REF" in result.stderr


@pytest.mark.parametrize(
    ("spec", "request_path", "ref_url"),
    [
        (
            "gh/owner/repo/main",
            "v2/gh/owner/repo/main",
            "https://github.com/owner/repo/tree/main",
        ),
        (
            "gl/group%2Fsub%2Fproject/abc",
            "v2/gl/group%2Fsub%2Fproject/abc",
            "https://gitlab.com/group/sub/project/tree/abc",
        ),
        (
            "gist/user/0123abc/HEAD",
            "v2/gist/user/0123abc/HEAD",
            "https://gist.github.com/user/0123abc/HEAD",
        ),
        (
            "https://github.com/owner/repo",
            "v2/gh/owner/repo/HEAD",
            "https://github.com/owner/repo/tree/HEAD",
        ),
        (
            "https://gitlab.com/group/project/-/tree/dev",
            "v2/gl/group%2Fproject/dev",
            "https://gitlab.com/group/project/tree/dev",
        ),
    ],
)
def test_specs_become_binderhub_user_options(spec, request_path, ref_url):
    options = user_options(spec)
    assert options["binder_persistent_request"] == request_path
    assert options["binder_ref_url"] == ref_url


@pytest.mark.parametrize(
    "spec", ["gh/owner", "zenodo/10.5281/x", "https://example.org/x/y"]
)
def test_unreadable_specs_say_which_forms_work(spec):
    with pytest.raises(SpecError, match="gh/OWNER/REPO/REF"):
        user_options(spec)


def test_a_fifo_as_resources_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "resources"
    os.mkfifo(fifo)
    result = preview(
        "--values",
        "values/minimal.yaml",
        "--launch",
        "gh/owner/repo/main",
        "--resources",
        str(fifo),
    )
    assert result.returncode == 2
    assert "not a regular file" in result.stderr


# --- the namespace's admission ----------------------------------------------


def layered(tmp_path, base: str, quota: dict, **hub_config: dict) -> str:
    """``base`` with a namespace quota and more hub configuration."""
    values = yaml.safe_load((ROOT / base).read_text())
    values.setdefault("persistentBinderhub", {})["resourceQuota"] = {
        "enabled": True,
        **quota,
    }
    config = values["binderhub"]["jupyterhub"]["hub"]["config"]
    config.update(hub_config)
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def init_container(pod: dict, name: str = "block-cloud-metadata") -> dict:
    return next(c for c in pod["spec"]["initContainers"] if c["name"] == name)


def test_the_pod_is_shown_as_the_namespaces_limit_range_fills_it(tmp_path):
    """z2jh's block-cloud-metadata init container sets no resources; under
    cerit.yaml's quota the chart's LimitRange gives it containerDefaults."""
    empty = tmp_path / ".resources"
    empty.write_text("")
    defaults = yaml.safe_load((ROOT / "chart" / "values.yaml").read_text())[
        "persistentBinderhub"
    ]["resourceQuota"]["containerDefaults"]
    shown = {}
    for values in ("values/cerit.yaml", "values/minimal.yaml"):
        result = preview(
            "--values",
            values,
            "--launch",
            "gh/owner/repo/main",
            "--resources",
            str(empty),
        )
        assert result.returncode == 0, result.stderr
        pod, _ = yaml.safe_load_all(result.stdout)
        shown[values] = init_container(pod).get("resources")
    assert shown["values/cerit.yaml"] == defaults
    assert not shown["values/minimal.yaml"]  # no quota, no LimitRange


def test_a_pod_the_namespace_quota_refuses_exits_1_in_the_api_servers_words(
    tmp_path,
):
    """Without NamespaceQuota the hub does not look at the quota: the API
    server refuses the Pod, and preview says so in its words."""
    resources = tmp_path / ".resources"
    resources.write_text("gpu=2\n")
    values = layered(
        tmp_path, "values/minimal.yaml", {"gpus": 1}, ResourcePolicy={"max_gpu": 2}
    )
    result = preview(
        "--values",
        values,
        "--launch",
        "gh/owner/repo/main",
        "--user",
        "Dana.O-Neil@example.org",
        "--resources",
        str(resources),
    )
    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith("the namespace refuses the notebook's Pod: pods")
    assert (
        "is forbidden: exceeded quota: persistent-binderhub, requested: "
        "requests.nvidia.com/gpu=2, used: requests.nvidia.com/gpu=0, limited: "
        "requests.nvidia.com/gpu=1"
    ) in result.stderr


def test_with_namespace_quota_on_the_hub_refuses_first_in_the_users_words(tmp_path):
    resources = tmp_path / ".resources"
    resources.write_text("gpu=2\n")
    values = layered(tmp_path, "values/cerit.yaml", {"gpus": 1})
    result = preview(
        "--values",
        values,
        "--launch",
        "gh/owner/repo/main",
        "--resources",
        str(resources),
    )
    assert result.returncode == 1, result.stdout
    assert "the service is full: 0 of its 1 GPUs are in use" in result.stderr
    assert "forbidden" not in result.stderr


def test_a_stricter_pod_security_level_refuses_the_release_itself(tmp_path):
    empty = tmp_path / ".resources"
    empty.write_text("")
    result = preview(
        "--values",
        "values/minimal.yaml",
        "--launch",
        "gh/owner/repo/main",
        "--resources",
        str(empty),
        "--pod-security",
        "baseline",
    )
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith(
        "the namespace refuses a pod of the release itself, so nothing would run: "
        'pods "binderhub-dind-'
    )
    assert 'violates PodSecurity "baseline:latest": hostPath volumes' in result.stderr
