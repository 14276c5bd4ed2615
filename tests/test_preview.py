"""``python -m pyconfig preview``: an admin's view of a launch, in a subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from pyconfig.launch_spec import SpecError, user_options

from .conftest import ROOT


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


def test_refused_launch_exits_1_with_the_users_message(tmp_path):
    resources = tmp_path / ".resources"
    resources.write_text("gpu=5\n")
    result = preview("--values", "values/cerit.yaml", "--launch", "gh/owner/repo/main",
                     "--resources", str(resources))  # fmt: skip
    assert result.returncode == 1
    assert "gpu is over this service's cap of 2 GPUs (ResourcePolicy.max_gpu)" in (
        result.stderr
    )
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
