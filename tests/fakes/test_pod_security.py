"""Pod Security admission on the loopback cluster (fakes/pod_security.py):
the namespace's enforce label decides, and a refusal reads as the API
server's. The release's and the notebooks' own pods show which level the
namespace needs: privileged, for dind; baseline refuses it, and refuses
notebooks while z2jh's block-cloud-metadata init container runs."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml

from fakes.kube_api import ApiError, KubeAPI
from fakes.pod_security import LABEL, violations
from fakes.workloads import admit_release_pods
from offline import chart

NS = chart.NAMESPACE
CERIT = chart.ROOT / "values" / "cerit.yaml"


def pod(**spec: Any) -> dict[str, Any]:
    containers = spec.pop("containers", [{"name": "c", "image": "i"}])
    return {"metadata": {"name": "p"}, "spec": {"containers": containers, **spec}}


@pytest.mark.parametrize(
    ("level", "body", "words"),
    [
        ("baseline", pod(hostNetwork=True), "host namespaces (hostNetwork=true)"),
        (
            "baseline",
            pod(
                containers=[
                    {
                        "name": "c",
                        "image": "i",
                        "ports": [{"containerPort": 80, "hostPort": 8080}],
                    }
                ]
            ),
            'hostPort (container "c" uses hostPort 8080)',
        ),
        (
            "baseline",
            pod(
                volumes=[
                    {"name": "a", "hostPath": {"path": "/"}},
                    {"name": "b", "hostPath": {"path": "/x"}},
                ]
            ),
            'hostPath volumes (volumes "a", "b")',
        ),
        (
            "restricted",
            pod(
                volumes=[{"name": "a", "hostPath": {"path": "/"}}],
                securityContext={
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                containers=[
                    {
                        "name": "c",
                        "image": "i",
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }
                ],
            ),
            'restricted volume types (volume "a" uses restricted volume type '
            '"hostPath")',
        ),
        (
            "restricted",
            pod(
                securityContext={
                    "runAsNonRoot": True,
                    "runAsUser": 0,
                    "seccompProfile": {"type": "Unconfined"},
                },
                containers=[
                    {
                        "name": "c",
                        "image": "i",
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "capabilities": {
                                "drop": ["ALL"],
                                "add": ["NET_BIND_SERVICE"],
                            },
                        },
                    }
                ],
            ),
            "runAsUser=0 (pod must not set runAsUser=0), seccompProfile (pod must "
            'not set securityContext.seccompProfile.type to "Unconfined")',
        ),
    ],
)
def test_each_check_words_its_refusal_as_kubernetes(level, body, words):
    assert violations(body, level) == words


def test_privileged_admits_anything_and_a_clean_pod_passes_restricted():
    clean = pod(
        securityContext={
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        containers=[
            {
                "name": "c",
                "image": "i",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    )
    assert violations(clean, "restricted") == ""
    assert violations(pod(hostNetwork=True, hostPID=True), "privileged") == ""
    with pytest.raises(ValueError, match="unknown Pod Security level"):
        violations(clean, "strict")


@pytest.fixture(scope="module")
def release() -> list[dict[str, Any]]:
    return chart.manifests(chart.render(chart.load_values(CERIT)))


def admitted(release: list[dict], level: str | None) -> list[dict]:
    with KubeAPI() as api:
        if level:
            api.namespace_labels[NS] = {LABEL: level}
        return admit_release_pods(api, release, NS)


def test_the_release_needs_a_privileged_namespace_for_dind(release):
    assert len(admitted(release, None)) == len(admitted(release, "privileged"))
    with pytest.raises(ApiError) as refused:
        admitted(release, "baseline")
    message = refused.value.message
    assert refused.value.code == 403
    assert message.startswith('pods "binderhub-dind-')
    assert message.endswith(
        '" is forbidden: violates PodSecurity "baseline:latest": hostPath '
        'volumes (volumes "dockerlib-dind", "run-dind"), privileged (containers '
        '"filesystem", "dind" must not set securityContext.privileged=true)'
    )


def notebook_pod(tmp_path) -> dict[str, Any]:
    """The notebook pod KubeSpawner makes for values/cerit.yaml, as
    `make preview` prints it."""
    resources = tmp_path / ".resources"
    resources.write_text("cpul=2\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "offline",
            "preview",
            "--values",
            str(CERIT),
            "--launch",
            "gh/o/r/main",
            "--resources",
            str(resources),
        ],
        cwd=chart.ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return next(yaml.safe_load_all(result.stdout))


@pytest.mark.slow  # a preview process
def test_baseline_refuses_notebooks_for_the_cloud_metadata_init_container(tmp_path):
    notebook = notebook_pod(tmp_path)
    assert violations(notebook, "baseline") == (
        'non-default capabilities (container "block-cloud-metadata" must not '
        'include "NET_ADMIN" in securityContext.capabilities.add), privileged '
        '(container "block-cloud-metadata" must not set '
        "securityContext.privileged=true)"
    )
    # Without it (z2jh: singleuser.cloudMetadata.blockWithIptables false, and
    # its NetworkPolicy blocking the metadata server instead), baseline admits.
    del notebook["spec"]["initContainers"]
    assert violations(notebook, "baseline") == ""
