"""The cluster CI job (.github/workflows/cluster.yaml) without its cluster.

The job cannot run here (no k3s, no network). What can is checked:

- its values (values/minimal.yaml with ci/k3s-values.yaml) render with the
  real chart, and what the workflow sets up matches them: the runner's
  address, NFS share and registry, the Secrets every pod needs, the node
  ports the check script calls, the dummy login and the check's hub service;
- the hub's own code (``make preview``) launches this repository under
  those values with its .resources and the per-user volume and keys;
- ci/cluster_ci.py's check against the real BinderHub and hub of
  offline/local_binder.py: a user's token from the hub API, two
  launches through BinderHub's build API, and the pods compared with the
  hub's own; and its pure parts on the shapes a real API server and
  container give (quantities in canonical form, /proc/self/mounts, cgroup
  files), each shown to fail on a wrong one;
- actionlint (make lint) passes the workflow and fails a broken one.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ci import cluster_ci
from fakes import pod_security
from fakes.kube_api import ApiError, KubeAPI
from fakes.workloads import admit_release_pods, pods_of
from offline import chart
from offline.hub_setup import SHA
from offline.local_binder import hub_and_binder
from offline.local_hub import TEST_VALUES
from pyconfig.resources.parser import parse
from tests.conftest import ROOT
from tools import chart_checks

pytestmark = pytest.mark.slow  # renders the release and runs the check's processes

WORKFLOW = ROOT / ".github" / "workflows" / "cluster.yaml"
CI_LAYER = ROOT / "ci" / "k3s-values.yaml"
SPEC = f"gh/owner/persistent-binderhub/{SHA}"


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return cluster_ci.ci_values()


@pytest.fixture(scope="module")
def objects(values) -> list[dict[str, Any]]:
    return chart.manifests(chart.render(values))


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def job(workflow) -> dict[str, Any]:
    [job] = workflow["jobs"].values()
    return job


@pytest.fixture(scope="module")
def launch(values) -> tuple[dict[str, Any], dict[str, Any]]:
    """The hub's own Pod and claim for this repository's launch in CI."""
    return cluster_ci.expected_launch(values, SPEC, cluster_ci.USER)


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def hub_values(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """z2jh's values as the hub reads them (the hub Secret's values.yaml)."""
    secret = chart.find(objects, "Secret", "hub")
    return yaml.safe_load(base64.b64decode(secret["data"]["values.yaml"]))


# --- the values and the workflow ---------------------------------------------


def test_the_job_installs_minimal_yaml_with_the_ci_layer_in_that_order(job):
    helm = next(
        s["run"]
        for s in job["steps"]
        if 'upgrade --install "$RELEASE" ./chart' in s.get("run", "")
    )
    given = re.findall(r"--values (\S+)", helm)
    assert [ROOT / path for path in given] == list(cluster_ci.VALUES)
    assert cluster_ci.VALUES[1] == CI_LAYER


def test_the_values_validate_against_the_charts_schema(values):
    """Helm checks the schema when it renders (next test); this names the key."""
    schema = json.loads((ROOT / "chart" / "values.schema.json").read_text())
    jsonschema.Draft7Validator(schema).validate(values)
    broken = copy.deepcopy(values)
    broken["persistentBinderhub"]["storageClass"]["nfs"]["sever"] = "10.200.0.1"
    with pytest.raises(jsonschema.ValidationError, match="sever"):
        jsonschema.Draft7Validator(schema).validate(broken)


def test_the_values_render_with_the_chart(objects):
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert {
        ("Deployment", "hub"),
        ("Deployment", "binder"),
        ("DaemonSet", "binderhub-dind"),
        ("StorageClass", "ci-nfs"),
        ("Pod", "binderhub-persistent-binderhub-check"),
    } <= kinds


@pytest.mark.parametrize("version", ["1.28", chart.NEWEST_KUBE_VERSION])
def test_the_ci_release_passes_make_lints_checks(values, tmp_path, version):
    """helm lint --strict, kubernetes-validate --strict, yamllint and the
    hub's own refusals, as make lint runs them on values/ (the job's matrix
    runs k3s 1.28 and stable); checkov is left to the files admins start
    from."""
    merged = tmp_path / "ci.yaml"
    merged.write_text(yaml.safe_dump(values))
    one = chart_checks.render(merged, version)
    assert chart_checks.lint_problems(one) == []
    assert chart_checks.kubernetes_problems(one) == []
    assert chart_checks.yamllint_problems(one) == []
    assert chart_checks.hub_policy_problems(merged) == []


def test_the_runner_address_share_and_registry_are_the_workflows(values, objects, job):
    """One address for the runner: the NFS server, the registry BinderHub
    pushes to, the registry Docker-in-Docker and the node's containerd are
    told speaks plain HTTP, and the service container's port."""
    host, share = job["env"]["CI_HOST"], job["env"]["NFS_SHARE"]
    storage = chart.find(objects, "StorageClass", "ci-nfs")
    assert storage["parameters"] == {
        "server": host,
        "share": share,
        "mountPermissions": "0777",
    }
    config = values["binderhub"]["config"]
    assert config["BinderHub"]["image_prefix"].startswith(f"{host}:5000/")
    assert config["DockerRegistry"]["url"] == f"http://{host}:5000"
    dind = chart.find(objects, "DaemonSet", "binderhub-dind")
    [daemon] = dind["spec"]["template"]["spec"]["containers"]
    assert f"--insecure-registry={host}:5000" in daemon["args"]
    assert job["services"]["registry"]["ports"] == ["5000:5000"]
    setup = scripts(job)
    assert '"$CI_HOST/32" dev lo' in setup  # the address, before k3s
    assert "/etc/rancher/k3s/registries.yaml" in setup
    assert '"$NFS_SHARE *(rw,' in setup


def test_the_hub_asks_for_the_storage_class_the_chart_makes_for_the_driver(
    objects, job
):
    storage = chart.find(objects, "StorageClass", "ci-nfs")
    hub = hub_values(objects)["hub"]["config"]
    assert hub["UserStorage"]["storage_class"] == storage["metadata"]["name"]
    assert storage["provisioner"] == "nfs.csi.k8s.io"  # csi-driver-nfs's name
    assert "helm upgrade --install csi-driver-nfs" in scripts(job)
    # The workflow checks the export with the class's own NFS version.
    assert storage["mountOptions"] == ["nfsvers=4.1"]
    assert "-o nfsvers=4.1" in scripts(job)


def test_the_login_is_dummy_and_the_checks_service_can_make_tokens(objects):
    hub = hub_values(objects)["hub"]
    assert hub["config"]["JupyterHub"]["authenticator_class"] == "dummy"
    assert "GenericOAuthenticator" not in hub["config"]
    assert cluster_ci.SERVICE in hub["services"]
    role = hub["loadRoles"][cluster_ci.SERVICE]
    assert role["services"] == [cluster_ci.SERVICE]
    assert {"admin:users", "admin:servers", "tokens"} <= set(role["scopes"])
    secret = chart.find(objects, "Secret", "hub")
    assert f"hub.services.{cluster_ci.SERVICE}.apiToken" in secret["data"]


def test_every_secret_a_pod_needs_is_rendered_or_made_by_the_workflow(
    values, objects, job, launch
):
    """A Secret that is missing keeps its pod from starting: the chart's,
    the admin's (made by the workflow) or the hub's own (the user's key)."""
    pods = [
        o["spec"]["template"]["spec"]
        for o in objects
        if "template" in o.get("spec", {})
    ]
    pods += [o["spec"] for o in objects if o["kind"] == "Pod"] + [launch[0]["spec"]]
    needed = set()
    for spec in pods:
        for box in spec.get("containers", []) + spec.get("initContainers", []):
            for env in box.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    needed.add(ref["name"])
        for volume in spec.get("volumes") or []:
            if "secret" in volume and not volume["secret"].get("optional"):
                needed.add(volume["secret"]["secretName"])
        needed |= {s["name"] for s in spec.get("imagePullSecrets") or []}
    # Build pods mount the push Secret (BinderHub makes them, not Helm).
    needed.add(values["binderhub"]["config"]["KubernetesBuildExecutor"]["push_secret"])
    rendered = {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    made = set(re.findall(r"create secret generic (\S+)", scripts(job)))
    hubs_own = {f"{cluster_ci.USER}-ssh-key"}
    assert needed - rendered - hubs_own <= made, needed - rendered - hubs_own - made
    # The optional ones the workflow makes too: the GitHub token's Secret.
    assert "repo-tokens" in made


def test_the_check_calls_the_node_ports_of_binderhub_and_the_proxy(values, objects):
    binder = chart.find(objects, "Service", "binder")["spec"]
    proxy = chart.find(objects, "Service", "proxy-public")["spec"]
    assert binder["type"] == proxy["type"] == "NodePort"
    [binder_port] = binder["ports"]
    [proxy_port] = proxy["ports"]
    assert (
        cluster_ci.binder_url(values) == f"http://localhost:{binder_port['nodePort']}"
    )
    assert cluster_ci.hub_url(values) == f"http://localhost:{proxy_port['nodePort']}"


def test_the_job_launches_the_commit_it_checked_out(job):
    """The check compares with this checkout's .resources: the launched
    commit must be the checked-out one."""
    checkout = next(
        s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")
    )
    assert checkout["with"]["ref"] == "${{ env.LAUNCH_SHA }}"
    check = next(
        s["run"] for s in job["steps"] if "ci.cluster_ci check" in s.get("run", "")
    )
    assert '"gh/$LAUNCH_REPO/$LAUNCH_SHA"' in check
    report = next(s for s in job["steps"] if "ci.cluster_ci report" in s.get("run", ""))
    assert report["if"] == "failure()"


def test_every_action_is_pinned_to_a_version(job):
    uses = [s["uses"] for s in job["steps"] if "uses" in s]
    assert uses and all(
        re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+)*", u) for u in uses
    ), uses
    image = job["services"]["registry"]["image"]
    assert re.search(r":\d+\.\d+\.\d+$", image), image


# --- what the hub makes of this repository's launch ----------------------------


def test_the_hub_launches_this_repository_with_its_resources_volume_and_keys(launch):
    pod, claim = launch
    asked = parse((ROOT / ".resources").read_bytes())
    resources = cluster_ci.container(pod)["resources"]
    assert cluster_ci.quantity(resources["requests"]["cpu"]) == Decimal(
        str(asked.values["cpur"])
    )
    assert cluster_ci.quantity(resources["limits"]["cpu"]) == Decimal(
        str(asked.values["cpul"])
    )
    gb = Decimal(1024**3)
    assert (
        cluster_ci.quantity(resources["requests"]["memory"])
        == Decimal(str(asked.values["memr"])) * gb
    )
    assert (
        cluster_ci.quantity(resources["limits"]["memory"])
        == Decimal(str(asked.values["meml"])) * gb
    )
    # ...which are not the defaults (1 and 1 GB guaranteed, 8 and 16 GB at
    # most), so the check tells the file's effect from the defaults'.
    assert asked.values["cpul"] != 8 and asked.values["meml"] != 16
    assert asked.values["cpur"] != 1 and asked.values["memr"] != 1
    assert cluster_ci.contract_problems(pod, cluster_ci.USER) == []
    assert claim["spec"]["storageClassName"] == "ci-nfs"
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_a_launch_the_hub_would_refuse_stops_the_check(values, tmp_path):
    too_big = tmp_path / ".resources"
    too_big.write_text("cpul=1000\n")
    with pytest.raises(cluster_ci.CheckError, match="cpul=1000"):
        cluster_ci.expected_launch(values, SPEC, cluster_ci.USER, too_big)


# --- the check's parts, on what a real cluster gives ------------------------


def canonical(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod as a real API server gives it back: quantities in canonical
    form, defaults filled in (configMap/secret defaultMode)."""
    pod = copy.deepcopy(pod)
    box = cluster_ci.container(pod)
    box["resources"] = {
        "requests": {"cpu": "250m", "memory": "768Mi"},
        "limits": {"cpu": "1500m", "memory": "1280Mi"},
    }
    for volume in pod["spec"]["volumes"]:
        for kind in ("secret", "configMap"):
            if kind in volume:
                volume[kind].setdefault("defaultMode", 420)
    pod["spec"]["volumes"].append({"name": "extra", "emptyDir": {}})
    return pod


def test_a_pod_as_the_api_server_gives_it_back_matches_the_hubs(launch):
    pod, _ = launch
    cluster_pod = canonical(pod)
    assert cluster_ci.resource_problems(cluster_pod, pod) == []
    assert cluster_ci.volume_problems(cluster_pod, pod) == []


def test_a_wrong_limit_a_lost_mount_or_a_moved_volume_is_reported(launch):
    pod, _ = launch
    wrong = canonical(pod)
    cluster_ci.container(wrong)["resources"]["limits"]["memory"] = "16Gi"
    del cluster_ci.container(wrong)["resources"]["requests"]["cpu"]
    assert cluster_ci.resource_problems(wrong, pod) == [
        "requests.cpu missing; the hub asks for 0.25",
        "limits.memory=16Gi; the hub asks for 1342177280",
    ]
    box = cluster_ci.container(wrong)
    box["volumeMounts"] = [
        m for m in box["volumeMounts"] if m["mountPath"] != cluster_ci.KEY_PATHS[0]
    ]
    for mount in box["volumeMounts"]:
        if mount["mountPath"] == "/home/ci-user-nfs-pvc":
            mount["mountPath"] = "/home/jovyan/work"
    problems = cluster_ci.volume_problems(wrong, pod)
    assert len(problems) == 2
    assert problems[0].startswith("persistentVolumeClaim ci-user-nfs-pvc is mounted at")
    assert problems[1].startswith("secret ci-user-ssh-key is mounted at")
    assert cluster_ci.contract_problems(wrong, cluster_ci.USER) == [
        "claim ci-user-nfs-pvc is not mounted (read-write) at /home/ci-user-nfs-pvc",
        f"no key from a Secret at {cluster_ci.KEY_PATHS[0]}",
    ]


def test_the_claim_must_be_bound_with_the_hubs_class_and_modes(launch):
    _, claim = launch
    bound = copy.deepcopy(claim) | {"status": {"phase": "Bound"}}
    assert cluster_ci.claim_problems(bound, claim) == []
    wrong = copy.deepcopy(claim) | {"status": {"phase": "Pending"}}
    wrong["spec"]["accessModes"] = ["ReadWriteOnce"]
    assert cluster_ci.claim_problems(wrong, claim) == [
        "claim ci-user-nfs-pvc: accessModes ['ReadWriteOnce']; "
        "the hub asks for ['ReadWriteMany']",
        "claim ci-user-nfs-pvc is Pending, not Bound",
    ]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("250m", "0.25"),
        ("1500m", "1.5"),
        ("768Mi", "805306368"),
        ("1280Mi", "1342177280"),
        ("1.5", "1.5"),
        ("2", "2"),
        ("1G", "1000000000"),
        ("1Gi", "1073741824"),
        ("1e3", "1000"),
        ("2E", "2e18"),
        (".5", "0.5"),
        (0.25, "0.25"),
        (805306368, "805306368"),
    ],
)
def test_quantities_are_read_as_kubernetes_writes_them(text, number):
    assert cluster_ci.quantity(text) == Decimal(number)


@pytest.mark.parametrize("text", ["", "1.5 cores", "1GB", "m", "1ki"])
def test_a_quantity_kubernetes_would_not_write_is_refused(text):
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        cluster_ci.quantity(text)


INSIDE_OK = """\
== mounts
overlay / overlay rw,relatime 0 0
10.200.0.1:/srv/binderhub/pvc-1234 /home/ci-user-nfs-pvc nfs4 rw,relatime,vers=4.1 0 0
/dev/root /home/jovyan/.ssh/ssh.priv ext4 ro,relatime 0 0
== memory.max
1342177280
== cpu.max
150000 100000
== keys
ok /home/jovyan/.ssh/ssh.priv
ok /home/jovyan/.ssh/ssh.pub
== public key type
ssh-ed25519
"""


def test_inside_the_notebook_nfs_keys_and_the_kernels_limits_pass(launch):
    pod, _ = launch
    assert cluster_ci.inside_problems(INSIDE_OK, "/home/ci-user-nfs-pvc", pod) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (" nfs4 ", " ext4 ", "/home/ci-user-nfs-pvc is a ext4 mount, not NFS"),
        (
            "/home/ci-user-nfs-pvc nfs4",
            "/mnt nfs4",
            "nothing is mounted at /home/ci-user-nfs-pvc",
        ),
        ("1342177280", "max", "cgroup memory.max is 'max'; the limit is 1342177280"),
        ("150000 100000", "max 100000", "cgroup cpu.max is 'max 100000': no CPU limit"),
        (
            "150000 100000",
            "800000 100000",
            "cgroup cpu.max 800000 100000 is 8 cores; the limit is 1.5",
        ),
        (
            "ok /home/jovyan/.ssh/ssh.pub",
            "missing /home/jovyan/.ssh/ssh.pub",
            "key file /home/jovyan/.ssh/ssh.pub is missing or empty",
        ),
        (
            "ssh-ed25519",
            "cut: /home/jovyan/.ssh/ssh.pub: No such file",
            "/home/jovyan/.ssh/ssh.pub is not an OpenSSH public key",
        ),
    ],
)
def test_inside_the_notebook_each_wrong_finding_is_reported(launch, old, new, problem):
    pod, _ = launch
    output = INSIDE_OK.replace(old, new)
    problems = cluster_ci.inside_problems(output, "/home/ci-user-nfs-pvc", pod)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_the_inside_script_prints_what_inside_problems_reads(tmp_path):
    """INSIDE runs in sh (here on this machine's files, not a notebook's):
    every section inside_problems reads is there, and of the public key only
    its type."""
    private, public = tmp_path / "ssh.priv", tmp_path / "ssh.pub"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    public.write_text("ssh-ed25519 AAAAC3Nza ci-user@binderhub\n")
    result = subprocess.run(
        ["sh", "-c", cluster_ci.INSIDE, "sh", str(private), str(public)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = cluster_ci.sections(result.stdout)
    assert set(found) == {"mounts", "memory.max", "cpu.max", "keys", "public key type"}
    assert found["keys"] == [f"ok {private}", f"ok {public}"]
    assert found["public key type"] == ["ssh-ed25519"]
    assert "secret" not in result.stdout and "AAAAC3Nza" not in result.stdout


@pytest.mark.parametrize(
    "stream",
    [
        b'data: {"phase": "built"}\n\n:keepalive\n\ndata: {"phase": "ready"}\n\n',
        b'data:{"phase": "built"}\r\n\r\n:keepalive\r\n\r\ndata:{"phase": "ready"}',
        b'event: x\ndata: {"phase":\ndata: "built"}\n\ndata: {"phase": "ready"}\n\n',
    ],
)
def test_build_events_are_read_as_an_event_source_reads_them(stream):
    lines = stream.splitlines(keepends=True)
    assert [e["phase"] for e in cluster_ci.events(lines)] == ["built", "ready"]


def test_the_server_is_read_from_the_ready_events_url():
    event = {"url": "http://localhost:30902/user/ci-user/owner-repo-x1y2z3/"}
    assert cluster_ci.server_of(event, "ci-user") == "owner-repo-x1y2z3"
    with pytest.raises(cluster_ci.CheckError, match="not a server of bob"):
        cluster_ci.server_of(event, "bob")


def test_a_hub_that_does_not_answer_is_a_check_error():
    from fakes.ports import free_port

    port = free_port()  # reserved: nothing listens there
    api = cluster_ci.HubAPI(f"http://127.0.0.1:{port}", "unused")
    with pytest.raises(cluster_ci.CheckError, match="the hub API at"):
        cluster_ci.user_token(api, "ci-user")
    assert "unused" not in repr(api)


def test_the_report_shows_a_pods_state_and_never_its_environment(launch):
    pod = canonical(launch[0])
    token = "0123456789abcdef-notebook-token"
    cluster_ci.container(pod)["env"].append(
        {"name": "JUPYTERHUB_API_TOKEN", "value": token}
    )
    pod["spec"]["nodeName"] = "runner"
    pod["status"] = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [
            {
                "name": "notebook",
                "ready": False,
                "restartCount": 0,
                "state": {
                    "waiting": {"reason": "ErrImagePull", "message": "no such host"}
                },
            }
        ],
    }
    summary = cluster_ci.pod_summary(pod)
    assert summary.startswith(f"pod {pod['metadata']['name']}: Pending on runner")
    assert "container notebook: waiting ErrImagePull no such host" in summary
    assert (
        "volume persistent-binderhub-home: persistentVolumeClaim ci-user-nfs-pvc"
        in summary
    )
    assert token not in summary and "JUPYTERHUB_API_TOKEN" not in summary


def test_the_report_never_describes_pods_nor_reads_secrets():
    """kubectl describe prints a pod's environment; the report's commands
    are tables, logs and the pods' JSON read by pod_summary."""
    words = " ".join(what for _, what in cluster_ci.TABLES + cluster_ci.LOGS)
    assert "describe" not in words and "secret" not in words.lower()


def test_the_report_goes_on_when_kubectl_fails(tmp_path):
    """After an early failure there may be no cluster at all."""
    lines: list[str] = []
    assert cluster_ci.report(lines.append, binary=str(tmp_path / "no-kubectl")) == 0
    assert sum(line.startswith("::group::") for line in lines) == (
        len(cluster_ci.TABLES) + len(cluster_ci.LOGS) + 1
    )


# --- quota, limit range and Pod Security, as the job's API server has them ------


def namespace_labels(job: dict[str, Any]) -> dict[str, str]:
    """The labels the workflow puts on the release's namespace."""
    found = re.findall(r"(pod-security\.kubernetes\.io/\w+)=(\w+)", scripts(job))
    return dict(found)


def test_the_ci_release_and_two_notebooks_run_under_its_quota_and_labels(
    objects, launch, job
):
    """What the job's API server admits, the loopback cluster admits: the
    release's own pods and two notebooks of this repository, under the CI
    values' ResourceQuota and LimitRange (cerit.yaml's shape) in a namespace
    labelled as the workflow labels it."""
    labels = namespace_labels(job)
    assert labels[pod_security.LABEL] == "privileged"
    assert {"ResourceQuota", "LimitRange"} <= {o["kind"] for o in objects}
    pod, _ = launch
    with KubeAPI() as api:
        api.namespace_labels[chart.NAMESPACE] = labels
        for obj in objects:
            if obj["kind"] in ("ResourceQuota", "LimitRange"):
                api.create(f"{obj['kind'].lower()}s", chart.NAMESPACE, obj)
        admitted = admit_release_pods(api, objects, chart.NAMESPACE)
        for index in (1, 2):
            notebook = copy.deepcopy(pod)
            notebook["metadata"]["name"] = f"{pod['metadata']['name']}-{index}"
            api.create("pods", chart.NAMESPACE, notebook, as_client=True)
        [quota] = api.list("resourcequotas", chart.NAMESPACE)
        assert quota["status"]["used"]["pods"] == str(len(admitted) + 2)
        # The label is what lets dind in: baseline would refuse it.
        api.namespace_labels[chart.NAMESPACE] = {pod_security.LABEL: "baseline"}
        with pytest.raises(ApiError, match='violates PodSecurity "baseline:latest"'):
            admit_release_pods(
                api,
                [chart.find(objects, "DaemonSet", "binderhub-dind")],
                chart.NAMESPACE,
            )


def test_the_job_compares_pod_security_after_the_launches(job):
    names = [s.get("run", "") for s in job["steps"]]
    check = next(i for i, r in enumerate(names) if "cluster_ci check" in r)
    compare = next(i for i, r in enumerate(names) if "cluster_ci pod-security" in r)
    assert compare == check + 1  # the notebooks of the check still run


def named_pods(objects: list[dict[str, Any]], notebook: dict[str, Any]) -> list[dict]:
    """The pods the job's namespace holds after the check, named as their
    controllers name them."""
    pods = []
    for index, each in enumerate(pods_of(objects)):
        meta = each["metadata"]
        meta.setdefault("name", f"{meta.get('generateName', 'pod-')}{index:05d}")
        pods.append(each)
    for server in ("a", "b"):
        copied = copy.deepcopy(notebook)
        copied["metadata"]["name"] = f"jupyter-ci-user--{server}"
        pods.append(copied)
    return pods


#: What the API server answers (pod-security-admission's warnings for a
#: dry-run namespace label) for the job's pods, as Kubernetes words them.
HEADER = (
    'Warning: existing pods in namespace "binderhub" violate the new '
    'PodSecurity enforce level "{}:latest"'
)
NOT_RESTRICTED = "allowPrivilegeEscalation != false, unrestricted capabilities"
SERVER_SAYS = {
    "baseline": "\n".join(
        [
            HEADER.format("baseline"),
            "Warning: binderhub-dind-00004: hostPath volumes, privileged",
            "Warning: binderhub-image-cleaner-00006: hostPath volumes",
            "Warning: jupyter-ci-user--a (and 1 other pod): non-default "
            "capabilities, privileged",
        ]
    ),
    "restricted": "\n".join(
        [
            HEADER.format("restricted"),
            f"Warning: binder-00005: {NOT_RESTRICTED}, runAsNonRoot != true, "
            "seccompProfile",
            f"Warning: binderhub-dind-00004: {NOT_RESTRICTED}, privileged, "
            "restricted volume types, runAsNonRoot != true, seccompProfile",
            f"Warning: binderhub-image-cleaner-00006: {NOT_RESTRICTED}, restricted "
            "volume types, runAsNonRoot != true, seccompProfile",
            f"Warning: jupyter-ci-user--a (and 1 other pod): {NOT_RESTRICTED}, "
            "privileged, runAsNonRoot != true, runAsUser=0, seccompProfile",
        ]
    ),
}


def fake_kubectl(tmp_path: Path, pods: list[dict], says: dict[str, str]) -> str:
    """A kubectl on PATH's place that answers the two commands the
    comparison runs: the pods as JSON, and the server's warnings."""
    (tmp_path / "pods.json").write_text(json.dumps({"items": pods}))
    for level, text in says.items():
        (tmp_path / f"{level}.txt").write_text(text)
    script = tmp_path / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  *"get pods"*) cat "{tmp_path}/pods.json" ;;\n'
        f'  *enforce=baseline*) cat "{tmp_path}/baseline.txt" >&2 ;;\n'
        f'  *enforce=restricted*) cat "{tmp_path}/restricted.txt" >&2 ;;\n'
        '  *) echo unexpected "$*" >&2; exit 1 ;;\n'
        "esac\n"
    )
    script.chmod(0o755)
    return str(script)


def test_pod_security_agrees_with_the_api_servers_warnings(objects, launch, tmp_path):
    pods = named_pods(objects, launch[0])
    kubectl = fake_kubectl(tmp_path, pods, SERVER_SAYS)
    lines: list[str] = []
    assert cluster_ci.check_pod_security(lines.append, binary=kubectl) == 0, lines
    assert lines == [
        f"baseline: the API server and the loopback cluster agree on {len(pods)} "
        "pods: 3 kinds of failure",
        f"restricted: the API server and the loopback cluster agree on {len(pods)} "
        "pods: 4 kinds of failure",
    ]


@pytest.mark.parametrize(
    ("level", "old", "new", "problem"),
    [
        (
            "baseline",
            "image-cleaner-00006: hostPath volumes",
            "image-cleaner-00006: hostPath volumes, hostPort",
            "baseline: the API server refuses binderhub-image-cleaner-00006 "
            "(hostPath volumes, hostPort); the loopback cluster refuses no such pod",
        ),
        (
            "baseline",
            "Warning: binderhub-image-cleaner-00006: hostPath volumes\n",
            "",
            "baseline: the loopback cluster refuses binderhub-image-cleaner-00006 "
            "(hostPath volumes); the API server names no pod for that",
        ),
        (
            "restricted",
            "(and 1 other pod)",
            "(and 2 other pods)",
            "restricted: for 'allowPrivilegeEscalation != false, unrestricted "
            "capabilities, privileged, runAsNonRoot != true, runAsUser=0, "
            "seccompProfile' the API server counts 3 pods from jupyter-ci-user--a, "
            "the loopback cluster 2 from jupyter-ci-user--a",
        ),
    ],
)
def test_each_disagreement_with_the_api_server_fails_the_step(
    objects, launch, tmp_path, level, old, new, problem
):
    says = dict(SERVER_SAYS)
    assert old in says[level]
    says[level] = says[level].replace(old, new)
    kubectl = fake_kubectl(tmp_path, named_pods(objects, launch[0]), says)
    lines: list[str] = []
    assert cluster_ci.check_pod_security(lines.append, binary=kubectl) == 1
    assert f"FAIL: {problem}" in lines


# --- the check against the real BinderHub and hub ------------------------------


class LoopbackCluster:
    """fakes/kube_api.KubeAPI, the local cluster's API, as the check reads kubectl."""

    def __init__(self, kube: Any):
        self.kube = kube

    def pods(self) -> list[dict[str, Any]]:
        return self.kube.list("pods", chart.NAMESPACE)

    def claim(self, name: str) -> dict[str, Any]:
        return self.kube.get("persistentvolumeclaims", chart.NAMESPACE, name)


def test_the_check_launches_twice_through_the_real_binderhub(tmp_path):
    """Steps 1 to 3 and 5 of ci/cluster_ci.py with the real BinderHub and
    hub: a user and token from the hub API as an admin service, two builds
    through BinderHub's event stream, each pod found and compared with the
    hub's own Pod for the launch (make preview with the same values and
    this repository's .resources). The local cluster has no volume
    provisioner, so its claim stays Pending: the one problem reported, which
    shows the claim is read."""
    files = {
        f"/owner/persistent-binderhub/{SHA}/.resources": (
            ROOT / ".resources"
        ).read_bytes()
    }
    commits = {("owner", "persistent-binderhub", "main"): SHA}
    spec = "gh/owner/persistent-binderhub/main"
    values = chart.merge_values(*(chart.load_values(p) for p in TEST_VALUES))
    expected = cluster_ci.expected_launch(values, spec, "alice")
    with hub_and_binder(tmp_path / "state", files, commits) as (hub, binder):
        api = cluster_ci.HubAPI(hub.url, hub.tokens["tests"])
        token = cluster_ci.user_token(api, "alice")
        assert cluster_ci.user_token(api, "alice") != token  # a re-run makes another
        cluster = LoopbackCluster(hub.kube)
        echoed: list[str] = []
        first, problems = cluster_ci.launch_and_compare(
            cluster, binder.url, spec, "alice", token, expected, echoed.append
        )
        assert problems == [
            f"{first.server}: claim alice-nfs-pvc is Pending, not Bound"
        ]
        assert echoed[-1].startswith(f"[ready] server running at {hub.url}/user/alice/")
        assert any(line.startswith("[built]") for line in echoed)
        second, problems = cluster_ci.launch_and_compare(
            cluster, binder.url, spec, "alice", token, expected, echoed.append
        )
        assert problems == [
            f"{second.server}: claim alice-nfs-pvc is Pending, not Bound"
        ]
        assert second.server != first.server and second.pod_name != first.pod_name
        assert (
            cluster_ci.home_of(first.pod)
            == cluster_ci.home_of(second.pod)
            == ("alice-nfs-pvc", "/home/alice-nfs-pvc")
        )
        # What the job's log shows holds no token: not the user's, and not
        # the notebook's that the ready event carries.
        notebook_tokens = {
            e["value"]
            for p in (first.pod, second.pod)
            for e in cluster_ci.container(p)["env"]
            if e["name"] == "JUPYTERHUB_API_TOKEN"
        }
        assert notebook_tokens and not any(
            secret in line for line in echoed for secret in notebook_tokens | {token}
        )
        # A failed launch ends the check with BinderHub's message.
        with pytest.raises(
            cluster_ci.CheckError, match="the launch of gh/owner/nothing/main failed"
        ):
            cluster_ci.build(binder.url, "gh/owner/nothing/main", token, echoed.append)


# --- actionlint (make lint) ----------------------------------------------------


def actionlint(pattern: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The Makefile's actionlint command on ``pattern``."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    binary = re.search(r"^ACTIONLINT := (\S+)$", makefile, re.M).group(1)
    return subprocess.run(
        [str(ROOT / binary), pattern],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_actionlint_passes_the_workflows():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pattern = re.search(r"^WORKFLOWS := (\S+)$", makefile, re.M).group(1)
    assert "\t$(ACTIONLINT) '$(WORKFLOWS)'" in makefile  # make lint runs it
    result = actionlint(pattern)
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(list((ROOT / ".github" / "workflows").glob("*.y*ml")))
    assert f"Checking {count} workflow file(s)" in result.stdout  # it found them


def test_actionlint_fails_a_broken_workflow(tmp_path):
    """Three mistakes actionlint knows (it reports one a line): an untrusted
    value in a script, a matrix key misspelt, an input checkout lacks."""
    text = WORKFLOW.read_text(encoding="utf-8")
    broken = text
    for old, new in (
        (
            "run: .venv/bin/python -m ci.cluster_ci check",
            "run: echo ${{ github.event.pull_request.title }}",
        ),
        (
            "k3s-channel: ${{ matrix.k3s-channel }}",
            "k3s-channel: ${{ matrix.k3s-chanel }}",
        ),
        ("ref: ${{ env.LAUNCH_SHA }}", "reff: ${{ env.LAUNCH_SHA }}"),
    ):
        assert old in broken
        broken = broken.replace(old, new)
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "cluster.yaml").write_text(broken)
    result = actionlint(".github/workflows/*.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert '"github.event.pull_request.title" is potentially untrusted' in result.stdout
    assert 'property "k3s-chanel" is not defined' in result.stdout
    assert (
        'input "reff" is not defined in action "actions/checkout@v4"' in result.stdout
    )
