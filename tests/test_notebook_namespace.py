"""Notebooks in a namespace of their own (the README's "Pod Security").

dind and the builds need a privileged namespace; an admin whose policy
holds notebooks to baseline sets hub.config.KubeSpawner.namespace, and the
chart puts what notebooks need there: the hub's Role, the known hosts
ConfigMap they mount, the quota and LimitRange that count them, and z2jh's
notebook NetworkPolicy for that namespace. The values are
tests/data/notebook-namespace-values.yaml over values/cerit.yaml.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import helm_python
import pytest

from tools import chart

from .conftest import DATA, ROOT

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
        o for o in split
        if o["kind"] == "Role" and o["metadata"]["name"] == "persistent-binderhub-hub"
    )  # fmt: skip
    assert ours["rules"] == z2jh["rules"]
    binding = next(
        o for o in split
        if o["kind"] == "RoleBinding"
        and o["metadata"]["name"] == "persistent-binderhub-hub"
    )  # fmt: skip
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


def test_the_hubs_grants_hold_where_their_bindings_are(split):
    """RBAC as the API server applies it: z2jh's RoleBinding gives the hub
    the release's namespace, ours the notebooks', and neither any other."""
    from tools.kube_api import KubeAPI

    from .test_kube_api import core, failure, pod

    async def run(api: KubeAPI) -> dict[str, int]:
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
        return out

    with KubeAPI.for_release(split, {"hub": "hub-token"}) as api:
        out = asyncio.run(run(api))
    assert (out[chart.NAMESPACE], out[NOTEBOOKS], out["elsewhere"]) == (201, 201, 403)
    assert out["elsewhere message"] == (
        'pods is forbidden: User "system:serviceaccount:binderhub:hub" cannot '
        'create resource "pods" in API group "" in the namespace "elsewhere"'
    )
