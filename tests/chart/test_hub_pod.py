"""The hub's configuration is the rendered release's, everywhere.

For each values file: z2jh's own jupyterhub_config.py and z2jh.py run on the
rendered hub Secret's values.yaml, with binderhub's snippets and our
ConfigMap's files (offline/hub_pod.py); a real `jupyterhub` process starts
with exactly that configuration (only the network and KubeSpawner's cluster
calls are local, offline/jupyterhub_config.py); and a launch sent
the way BinderHub's launcher sends it gets, field by field, the Pod and PVC
that `make preview` prints.

Before this, the hub crashed on start: z2jh leaves a LazyConfigValue in
KubeSpawner.volumes and configure(c) expected a list or dict. The start test
below fails on that code.
"""

from __future__ import annotations

import io
import time

import pytest

from offline import chart, hub_pod
from offline.hub_setup import SHA, github
from offline.local_hub import local_hub, pointed_at
from offline.preview import launch as preview_launch
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # renders each values file, runs z2jh's config

VALUES = sorted((ROOT / "values").glob("*.yaml"))
ids = [p.name for p in VALUES]
FILE = b"cpur=0.5\nmeml=4\n"
GIB = 1024**3
USER_TOLERATION = {
    "key": "hub.jupyter.org/dedicated",
    "operator": "Equal",
    "value": "user",
    "effect": "NoSchedule",
}


def configured(
    path, tmp_path, raw_url="http://127.0.0.1:9", kube_url="http://127.0.0.1:9"
):
    values = pointed_at(chart.load_values(path), raw_url, kube_url)
    log = io.StringIO()
    config, pod = hub_pod.config_for(values, tmp_path / "pod", log)
    return config, pod, log.getvalue()


@pytest.mark.parametrize("path", VALUES, ids=ids)
def test_z2jh_runs_binderhubs_snippets_and_ours_on_the_rendered_secret(path, tmp_path):
    c, _, log = configured(path, tmp_path)
    for snippet in ("0-binderspawnermixin", "00-binder", "10-persistent-binderhub"):
        assert f"Loading extra config: {snippet}" in log
    assert c.JupyterHub.spawner_class.__name__ == "BinderSpawner"
    hook = c.KubeSpawner.pre_spawn_hook
    assert hook.__code__.co_filename.startswith(str(tmp_path / "pod")), "not shipped"
    # What z2jh derives from chart values, which a stand-in once missed:
    assert USER_TOLERATION in c.KubeSpawner.tolerations
    # z2jh's POD_NAMESPACE, unless the values put notebooks elsewhere.
    values = chart.load_values(path)
    spawner = values["binderhub"]["jupyterhub"]["hub"]["config"].get("KubeSpawner")
    assert c.KubeSpawner.namespace == (spawner or {}).get("namespace", chart.NAMESPACE)
    assert c.JupyterHub.hub_connect_url == "http://hub:8081"
    assert c.ServerQuota.limit >= 1 and c.JupyterHub.named_server_limit_per_user == 0
    [cull] = [s for s in c.JupyterHub.services if s["name"] == "jupyterhub-idle-culler"]
    assert "--remove-named-servers" in cull["command"]
    assert "--cull-users" not in cull["command"]


def test_only_z2jhs_fixed_paths_are_redirected(tmp_path):
    objects = chart.manifests(chart.render(chart.load_values(VALUES[0])))
    pod = hub_pod.hub_pod(objects, tmp_path)
    shipped = chart.find(objects, "ConfigMap", "hub")["data"]
    for name in hub_pod.Z2JH_FILES:
        ours = pod.path(hub_pod.HUB_CONFIG_DIR) / name
        here = str(pod.path(hub_pod.HUB_CONFIG_DIR))
        assert ours.read_text().replace(here, hub_pod.HUB_CONFIG_DIR) == shipped[name]


def test_the_hub_pod_environment_is_the_deployments(tmp_path):
    objects = chart.manifests(
        chart.render(chart.load_values(ROOT / "values/cerit.yaml"))
    )
    pod = hub_pod.hub_pod(objects, tmp_path)
    assert pod.env["POD_NAMESPACE"] == chart.NAMESPACE  # fieldRef
    assert pod.env["CONFIGPROXY_AUTH_TOKEN"]  # secretKeyRef into the rendered Secret
    assert pod.env["PROXY_API_SERVICE_PORT"] == "8001"  # a Service, as the kubelet sets
    assert pod.external_secrets == ["oidc-client/client-secret"]
    assert pod.args[:3] == [
        "jupyterhub",
        "--config",
        f"{hub_pod.HUB_CONFIG_DIR}/jupyterhub_config.py",
    ]


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


#: What differs between two launches by design: per-launch tokens, and the
#: hub's address, which the local hub has on loopback and the cluster at
#: http://hub:8081 (offline/jupyterhub_config.py).
PER_LAUNCH = {"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"}
HUB_ADDRESS = {"JUPYTERHUB_API_URL", "JUPYTERHUB_ACTIVITY_URL"}


def comparable(pod: dict) -> dict:
    spec = pod["spec"]
    [container] = [c for c in spec["containers"] if c["name"] == "notebook"]
    env = {
        k: v for k, v in env_of(container).items() if k not in PER_LAUNCH | HUB_ADDRESS
    }
    return {
        "labels": pod["metadata"].get("labels"),
        "annotations": pod["metadata"].get("annotations"),
        "name": pod["metadata"]["name"],
        "image": container["image"],
        "args": container.get("args"),
        "resources": container["resources"],
        "volumeMounts": container.get("volumeMounts"),
        "env": env,
        "containerSecurityContext": container.get("securityContext"),
        "podSecurityContext": spec.get("securityContext"),
        "volumes": spec.get("volumes"),
        "tolerations": spec.get("tolerations"),
        "nodeSelector": spec.get("nodeSelector"),
        "affinity": spec.get("affinity"),
        "initContainers": spec.get("initContainers"),
        "automountServiceAccountToken": spec.get("automountServiceAccountToken"),
        "serviceAccountName": spec.get("serviceAccountName"),
        "schedulerName": spec.get("schedulerName"),
        "priorityClassName": spec.get("priorityClassName"),
        "restartPolicy": spec.get("restartPolicy"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("path", VALUES, ids=ids)
async def test_a_real_hub_starts_and_launches_what_preview_shows(path, tmp_path):
    files = {f"/owner/repo/{SHA}/.resources": FILE}
    with local_hub(tmp_path / "hub", files, values_files=(path,)) as hub:
        # The hub answers its API a moment before it logs this, its last step.
        deadline = time.monotonic() + 30
        while "JupyterHub is now running" not in hub.log.read_text():
            assert time.monotonic() < deadline, hub.log.read_text()[-3000:]
            time.sleep(0.2)
        assert hub.api("POST", "/users/alice", service="binder")[0] == 201
        options = github("owner", "repo")
        started = hub.launch("alice", "repo-x1", options)  # BinderHub's token
        assert started.outcome == "ready", (started, hub.log.read_text()[-3000:])
        pod, pvc = hub.recorded("alice", "repo-x1")
        raw_url, kube_url = hub.stand_in_urls
    config, pod_on_disk, _ = configured(path, tmp_path, raw_url, kube_url)
    preview = await preview_launch(
        config, pod_on_disk, options, "alice", FILE, "repo-x1"
    )
    hub_side, preview_side = comparable(pod), comparable(preview["pod"])
    for field in hub_side:
        if field == "env":
            differing = set(hub_side["env"].items()) ^ set(preview_side["env"].items())
            assert not differing, sorted(differing, key=str)
        assert hub_side[field] == preview_side[field], field
    assert pvc == preview["pvc"]
    container = pod["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == 0.5
    assert container["resources"]["limits"]["memory"] == 4 * GIB
    assert container["image"] == options["image"]  # BinderSpawnerMixin.start
    assert USER_TOLERATION in pod["spec"]["tolerations"]
    assert pvc["metadata"]["name"] == "alice-nfs-pvc"
    env = env_of(container)
    assert env["BINDERHUB_RESOURCES_SOURCE"].startswith("from .resources of ")
    assert env["BINDER_REPO_URL"] == options["repo_url"]  # the mixin's get_env
