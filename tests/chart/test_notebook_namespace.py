"""Notebooks in a namespace of their own (docs/admins.md, "Pod Security and
the notebook namespace").

dind and the builds need a privileged namespace; an admin whose policy
holds notebooks to baseline sets hub.config.KubeSpawner.namespace, and the
chart puts what notebooks need there: the hub's Role, the known hosts
ConfigMap they mount, the quota and LimitRange that count them, and z2jh's
notebook NetworkPolicy for that namespace. The values are
tests/data/notebook-namespace-values.yaml over values/cerit.yaml.
"""

from __future__ import annotations

import copy
import stat
from pathlib import Path
from typing import Any

import helm_python
import pytest

from fakes import pod_security
from fakes.kube_api import ApiError
from offline import chart
from offline.hub_setup import SHA
from offline.local_hub import pod_of
from offline.login import LOGIN_VALUES, log_in_http, members_service
from tests.conftest import DATA, ROOT

NOTEBOOKS = "binderhub-notebooks"
LAYOUT = (ROOT / "values" / "cerit.yaml", DATA / "notebook-namespace-values.yaml")


def values_of(paths: tuple[Path, ...]) -> dict[str, Any]:
    return chart.merge_values(*(chart.load_values(p) for p in paths))


@pytest.fixture(scope="module")
def split() -> list[dict[str, Any]]:
    return chart.manifests(chart.render(values_of(LAYOUT)))


def placed(objects: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(kind, name) -> namespace of the chart's own objects."""
    return {
        (o["kind"], o["metadata"]["name"]): o["metadata"].get("namespace", "")
        for o in objects
        if o["metadata"].get("labels", {}).get("app.kubernetes.io/name")
        == "persistent-binderhub"
    }


def test_what_notebooks_need_goes_to_their_namespace(split):
    where = placed(split)
    for thing in [
        ("ConfigMap", "persistent-binderhub-known-hosts"),
        ("ResourceQuota", "persistent-binderhub"),
        ("LimitRange", "persistent-binderhub"),
        ("Role", "persistent-binderhub-quota-reader"),
        ("Role", "persistent-binderhub-hub"),
        ("RoleBinding", "persistent-binderhub-hub"),
        ("NetworkPolicy", "persistent-binderhub-notebooks"),
    ]:
        assert where[thing] == NOTEBOOKS, thing
    # The pyconfig the hub loads stays with the hub.
    pyconfig = [ns for (_, name), ns in where.items() if "pyconfig" in name]
    assert pyconfig and set(pyconfig) == {chart.NAMESPACE}


def test_the_hub_account_gets_what_z2jhs_role_gives_it_at_home(split):
    z2jh = chart.find(split, "Role", "hub")
    ours = next(
        o
        for o in split
        if o["kind"] == "Role" and o["metadata"]["name"] == "persistent-binderhub-hub"
    )
    assert ours["rules"] == z2jh["rules"]
    binding = next(
        o
        for o in split
        if o["kind"] == "RoleBinding"
        and o["metadata"]["name"] == "persistent-binderhub-hub"
    )
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "hub", "namespace": chart.NAMESPACE}
    ]


def test_in_one_namespace_nothing_more_is_rendered():
    where = placed(chart.manifests(chart.render(values_of(LAYOUT[:1]))))
    assert set(where.values()) - {""} == {chart.NAMESPACE}  # "": cluster-wide
    assert ("Role", "persistent-binderhub-hub") not in where
    assert ("NetworkPolicy", "persistent-binderhub-notebooks") not in where


def test_a_hub_policy_that_shuts_the_notebooks_out_is_refused():
    values = values_of(LAYOUT)
    broken = copy.deepcopy(values)
    del broken["binderhub"]["jupyterhub"]["hub"]["networkPolicy"]
    with pytest.raises(helm_python.HelmError) as refused:
        chart.render(broken)
    assert (
        "binderhub.jupyterhub.hub.networkPolicy.ingress must admit the notebooks' "
        f"namespace {NOTEBOOKS}"
    ) in str(refused.value)
    # Without network policies there is nothing to admit them through.
    broken["binderhub"]["jupyterhub"]["hub"]["networkPolicy"] = {"enabled": False}
    chart.render(broken)


# -- on the loopback cluster ------------------------------------------------------


async def test_the_hubs_grants_hold_where_their_bindings_are(split):
    """RBAC as the API server applies it: z2jh's RoleBinding gives the hub
    the release's namespace, ours the notebooks', and neither any other."""
    from fakes.kube_api import KubeAPI
    from tests.fakes.test_kube_api import core, failure, pod

    with KubeAPI.for_release(split, {"hub": "hub-token"}) as api:
        out = {}
        async with core(api, "hub-token") as v1:
            for namespace in (chart.NAMESPACE, NOTEBOOKS, "elsewhere"):
                try:
                    await v1.create_namespaced_pod(namespace, pod("probe"))
                    out[namespace] = 201
                except Exception:
                    status, _, body = await failure(
                        v1.create_namespaced_pod(namespace, pod("probe"))
                    )
                    out[namespace] = status
                    out[f"{namespace} message"] = body["message"]
    assert (out[chart.NAMESPACE], out[NOTEBOOKS], out["elsewhere"]) == (201, 201, 403)
    assert out["elsewhere message"] == (
        'pods is forbidden: User "system:serviceaccount:binderhub:hub" cannot '
        'create resource "pods" in API group "" in the namespace "elsewhere"'
    )


FILES = {f"/lab/model/{SHA}/.resources": b"cpul=2\nmeml=2\n"}
COMMITS = {("lab", "model", "main"): SHA}
#: As docs/admins.md has the admin label them.
LABELS = {
    chart.NAMESPACE: {pod_security.LABEL: "privileged"},
    NOTEBOOKS: {pod_security.LABEL: "baseline"},
}


@pytest.mark.slow
def test_a_launch_through_binderhub_runs_in_the_notebooks_namespace(tmp_path):
    """cerit.yaml with the layout, behind the real BinderHub and hub, on the
    loopback cluster with the rendered RBAC and Pod Security labels: the
    notebook, its claim and key Secret are in the notebooks' namespace and
    admitted at baseline, with the quota counting them there; with z2jh's
    block-cloud-metadata left on, baseline refuses the pod in Kubernetes'
    words."""
    values = (*LOGIN_VALUES, DATA / "notebook-namespace-values.yaml")
    with members_service(tmp_path, FILES, COMMITS, values, namespace_labels=LABELS) as (
        hub,
        binder,
    ):
        log_in_http(hub.url, "Dana.O-Neil")
        name = "dana.o-neil"  # as the hub normalizes it: not a Kubernetes name
        events = binder.build("gh/lab/model/main", hub.new_token(name))
        assert events[-1]["phase"] == "ready", (events, hub.log.read_text()[-3000:])
        _, user = hub.api("GET", f"/users/{name}")
        [server] = user["servers"]
        assert pod_of(hub, name, server) is None  # not at home
        pod = pod_of(hub, name, server, NOTEBOOKS)
        assert pod is not None and pod["status"]["phase"] == "Running"
        assert "block-cloud-metadata" not in str(pod["spec"].get("initContainers"))
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in volumes.values()
            if "persistentVolumeClaim" in v
        ]
        secrets = [v["secret"]["secretName"] for v in volumes.values() if "secret" in v]
        assert claims and all(
            hub.kube.get("persistentvolumeclaims", NOTEBOOKS, c) for c in claims
        )
        assert secrets and all(hub.kube.get("secrets", NOTEBOOKS, s) for s in secrets)
        assert not hub.kube.list("persistentvolumeclaims", chart.NAMESPACE)
        # A fresh volume, as the chart's StorageClass has the driver make it.
        folder = hub.kubelet.claim_folder(NOTEBOOKS, claims[0])
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777
        [quota] = hub.kube.list("resourcequotas", NOTEBOOKS)
        assert quota["status"]["used"]["pods"] == "1"

        # The same pod with z2jh's iptables init container: baseline refuses it.
        with_iptables = copy.deepcopy(pod)
        with_iptables["metadata"] = {"name": "with-block-cloud-metadata"}
        with_iptables["spec"]["initContainers"] = [
            {
                "name": "block-cloud-metadata",
                "image": "busybox",
                "securityContext": {
                    "privileged": True,
                    "capabilities": {"add": ["NET_ADMIN"]},
                },
            }
        ]
        with pytest.raises(ApiError) as refused:
            hub.kube.create("pods", NOTEBOOKS, with_iptables, as_client=True)
        assert 'violates PodSecurity "baseline:latest"' in refused.value.message
