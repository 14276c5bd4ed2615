"""``python -m pyconfig preview``: an admin's view of a launch, in a subprocess.

The hub configuration it uses is the rendered release's, run through z2jh's
own jupyterhub_config.py (tools/hub_pod.py); test_hub_pod.py shows that a
real hub makes the same Pod.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import yaml

from pyconfig.admin.launch_request import SpecError, user_options

from .conftest import ROOT
from .hub_setup import GPU_TOLERATION


def preview(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pyconfig", "preview", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_prints_pod_then_pvc_with_the_files_resources(tmp_path):
    resources = tmp_path / ".resources"
    resources.write_text("gpu=1\ncpur=2\nmeml=32\n")
    result = preview("--values", "values/cerit.yaml", "--launch", "gh/owner/repo/main",
                     "--user", "alice", "--resources", str(resources))  # fmt: skip
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
    user_pods = {"key": "hub.jupyter.org/dedicated", "operator": "Equal",
                 "value": "user", "effect": "NoSchedule"}  # fmt: skip
    assert user_pods in pod["spec"]["tolerations"]  # z2jh's, from the real config
    assert GPU_TOLERATION in pod["spec"]["tolerations"]


def test_prints_only_the_objects_and_nothing_of_this_machine(tmp_path):
    empty = tmp_path / ".resources"
    empty.write_text("")
    result = preview("--values", "values/minimal.yaml", "--launch",
                     "gh/owner/repo/main", "--resources", str(empty))  # fmt: skip
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
    result = preview("--values", "values/minimal.yaml", "--launch",
                     "gh/owner/repo/main", "--resources", str(empty), "--verbose",
                     "--image", "r.example/i:1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Loading extra config: 10-persistent-binderhub" in result.stderr
    assert "image: r.example/i:1" in result.stdout


def test_a_values_file_the_chart_refuses_is_a_usage_error(tmp_path):
    values = tmp_path / "bad.yaml"
    values.write_text("binderhub:\n  jupyterhub:\n    hub:\n      config:\n"
                      "        UserStorage: {capacity: lots}\n")  # fmt: skip
    result = preview("--values", str(values), "--launch", "gh/owner/repo/main")
    assert result.returncode == 2
    assert "capacity" in result.stderr and "Traceback" not in result.stderr


def test_refused_launch_exits_1_with_the_users_message(tmp_path):
    resources = tmp_path / ".resources"
    resources.write_text("gpu=5\n")
    result = preview("--values", "values/cerit.yaml", "--launch", "gh/owner/repo/main",
                     "--resources", str(resources))  # fmt: skip
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
        ("gh/owner/repo/main", "v2/gh/owner/repo/main",
         "https://github.com/owner/repo/tree/main"),
        ("gl/group%2Fsub%2Fproject/abc", "v2/gl/group%2Fsub%2Fproject/abc",
         "https://gitlab.com/group/sub/project/tree/abc"),
        ("gist/user/0123abc/HEAD", "v2/gist/user/0123abc/HEAD",
         "https://gist.github.com/user/0123abc/HEAD"),
        ("https://github.com/owner/repo", "v2/gh/owner/repo/HEAD",
         "https://github.com/owner/repo/tree/HEAD"),
        ("https://gitlab.com/group/project/-/tree/dev", "v2/gl/group%2Fproject/dev",
         "https://gitlab.com/group/project/tree/dev"),
    ],
)  # fmt: skip
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
    result = preview("--values", "values/minimal.yaml", "--launch",
                     "gh/owner/repo/main", "--resources", str(fifo))  # fmt: skip
    assert result.returncode == 2
    assert "not a regular file" in result.stderr
