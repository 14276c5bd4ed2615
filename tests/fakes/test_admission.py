"""The loopback cluster's admission (fakes/admission.py) refuses and fills in
what a Kubernetes API server does, in its words; and the production example
values/cerit.yaml, whose namespace quota counts limits, is admitted.

The API server itself cannot run here (../shared/FACTS.md, 8): fakes/kube_api.py
is the stand-in, spoken to over HTTP by the kubernetes_asyncio client the hub
image pins where the wording of a refusal matters.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fakes.admission import Quantity
from fakes.kube_api import ApiError, KubeAPI
from fakes.workloads import RELEASE_NODE, admit_release_pods, pods_of
from offline import chart
from tests.fakes.test_kube_api import core, failure

NS = chart.NAMESPACE
CERIT = chart.ROOT / "values" / "cerit.yaml"


@pytest.mark.parametrize(
    ("written", "amount", "printed"),
    [
        ("500m", 0.5, "500m"),
        ("0.2", 0.2, "200m"),
        (8, 8, "8"),
        (8.5, 8.5, "8500m"),
        ("16G", 16e9, "16G"),
        ("1.5Gi", 1.5 * 2**30, "1536Mi"),
        ("2Ti", 2 * 2**40, "2Ti"),
        ("1e3", 1000, "1k"),
        ("512", 512, "512"),
        ("1Ki", 1024, "1Ki"),
        (17179869184, 17179869184, "17179869184"),
        ("0.0000000001", 1e-9, "1n"),  # below nano-units: rounded up
    ],
)
def test_quantities_read_and_print_as_the_api_server_does(written, amount, printed):
    quantity = Quantity.parse(written)
    assert float(quantity.amount) == pytest.approx(amount)
    assert str(quantity) == printed


@pytest.mark.parametrize("bad", ["", "1.2.3", "ten", "5 Gi", "1Gb", True, None])
def test_a_quantity_that_is_not_one_is_refused(bad):
    with pytest.raises(ValueError, match="quantities must match"):
        Quantity.parse(bad)


def container(name: str, **resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "resources": resources}


def pod(name: str, *containers: dict, init: tuple = (), phase: str = "") -> dict:
    body: dict[str, Any] = {
        "metadata": {"name": name},
        "spec": {"containers": list(containers)},
    }
    if init:
        body["spec"]["initContainers"] = list(init)
    if phase:
        body["status"] = {"phase": phase}
    return body


def quota(name: str, **hard: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"hard": hard}}


def limit_range(**item: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": "defaults"},
        "spec": {"limits": [{"type": "Container", **item}]},
    }


def refusal(api: KubeAPI, body: dict, resource: str = "pods") -> str:
    with pytest.raises(ApiError) as refused:
        api.create(resource, NS, body, as_client=True)
    assert refused.value.code in (403, 422), refused.value.message
    return refused.value.message


def test_a_limits_quota_refuses_every_container_without_them_init_ones_too():
    with KubeAPI() as api:
        api.create("resourcequotas", NS, quota("q", **{"limits.cpu": "4"}))
        api.create("resourcequotas", NS, quota("r", **{"limits.memory": "4Gi"}))
        bare = pod(
            "p",
            container("notebook", limits={"cpu": "1", "memory": "1Gi"}),
            init=(container("block-cloud-metadata"), container("setup")),
        )
        assert refusal(api, bare) == (
            'pods "p" is forbidden: failed quota: q: '
            "must specify limits.cpu for: block-cloud-metadata,setup"
        )
        # With a LimitRange, the same pod is filled in and admitted.
        api.create(
            "limitranges",
            NS,
            limit_range(default={"cpu": "500m", "memory": "256Mi"}),
        )
        stored = api.create("pods", NS, bare, as_client=True)
        init = stored["spec"]["initContainers"][0]["resources"]
        assert init == {
            "limits": {"cpu": "500m", "memory": "256Mi"},
            # defaultRequest falls back to default, as the API server stores it
            "requests": {"cpu": "500m", "memory": "256Mi"},
        }
        # A limit with no request requests the limit (pod defaulting).
        notebook = stored["spec"]["containers"][0]["resources"]
        assert notebook["requests"] == {"cpu": "1", "memory": "1Gi"}


def test_the_quota_counts_what_pods_hold_and_refuses_beyond_it():
    with KubeAPI() as api:
        hard = {"limits.cpu": "4", "requests.nvidia.com/gpu": "1", "pods": "3"}
        api.create("resourcequotas", NS, quota("totals", **hard))
        small = {"cpu": "1500m", "memory": "1Gi"}
        gpu = {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}
        api.create("pods", NS, pod("a", container("c", limits=small)), as_client=True)
        api.create("pods", NS, pod("b", container("c", limits=gpu)), as_client=True)
        used = api.get("resourcequotas", NS, "totals")["status"]["used"]
        assert used == {
            "limits.cpu": "2500m",
            "requests.nvidia.com/gpu": "1",
            "pods": "2",
        }
        more = {**gpu, "cpu": "2"}
        assert refusal(api, pod("c", container("c", limits=more))) == (
            'pods "c" is forbidden: exceeded quota: totals, '
            "requested: limits.cpu=2,requests.nvidia.com/gpu=1, "
            "used: limits.cpu=2500m,requests.nvidia.com/gpu=1, "
            "limited: limits.cpu=4,requests.nvidia.com/gpu=1"
        )
        # Init containers count as the largest of them, not their sum.
        big_init = pod(
            "d",
            container("c", limits={"cpu": "500m"}),
            init=(
                container("i1", limits={"cpu": "2"}),
                container("i2", limits={"cpu": "1"}),
            ),
        )
        assert "requested: limits.cpu=2, used: limits.cpu=2500m" in refusal(
            api, big_init
        )
        # A pod that ended holds nothing; a deleted one neither.
        api.update_status("pods", NS, "b", {"phase": "Succeeded"})
        api.delete("pods", NS, "a")
        used = api.get("resourcequotas", NS, "totals")["status"]["used"]
        assert used == {"limits.cpu": "0", "requests.nvidia.com/gpu": "0", "pods": "0"}
        api.create("pods", NS, pod("c", container("c", limits=gpu)), as_client=True)


def test_object_counts_and_claim_storage_are_quota_d():
    with KubeAPI() as api:
        hard = {"persistentvolumeclaims": "1", "requests.storage": "30Gi"}
        api.create("resourcequotas", NS, quota("storage", **hard))
        api.create("resourcequotas", NS, quota("secrets", **{"count/secrets": "1"}))

        def claim(name: str, size: str) -> dict:
            return {
                "metadata": {"name": name},
                "spec": {
                    "accessModes": ["ReadWriteMany"],
                    "resources": {"requests": {"storage": size}},
                },
            }

        assert refusal(api, claim("huge", "40Gi"), "persistentvolumeclaims") == (
            'persistentvolumeclaims "huge" is forbidden: exceeded quota: storage, '
            "requested: requests.storage=40Gi, used: requests.storage=0, "
            "limited: requests.storage=30Gi"
        )
        api.create("persistentvolumeclaims", NS, claim("one", "20Gi"), as_client=True)
        assert "persistentvolumeclaims=1" in refusal(
            api, claim("two", "1Gi"), "persistentvolumeclaims"
        )
        secret = {"metadata": {"name": "s1"}, "stringData": {"k": "v"}}
        api.create("secrets", NS, secret, as_client=True)
        again = {**secret, "metadata": {"name": "s2"}}
        assert "count/secrets=1" in refusal(api, again, "secrets")


@pytest.mark.parametrize(
    ("item", "resources", "words"),
    [
        (
            {"max": {"cpu": "2"}},
            {"limits": {"cpu": "4"}},
            "maximum cpu usage per Container is 2, but limit is 4",
        ),
        (
            {"min": {"memory": "256Mi"}},
            {"requests": {"memory": "128Mi"}, "limits": {"memory": "1Gi"}},
            "minimum memory usage per Container is 256Mi, but request is 128Mi",
        ),
        (
            {"maxLimitRequestRatio": {"cpu": "4"}},
            {"requests": {"cpu": "100m"}, "limits": {"cpu": "800m"}},
            "cpu max limit to request ratio per Container is 4, "
            "but provided ratio is 8.000000",
        ),
    ],
)
def test_limit_range_constraints_are_refused_in_kubernetes_words(
    item, resources, words
):
    with KubeAPI() as api:
        api.create("limitranges", NS, limit_range(**item))
        body = pod("p", {"name": "c", "image": "busybox", "resources": resources})
        assert refusal(api, body) == f'pods "p" is forbidden: {words}'


def test_a_default_limit_below_a_request_is_invalid_not_admitted():
    """LimitRange fills a limit under the container's own request: the pod's
    validation (after mutation) refuses it, as the API server's does."""
    with KubeAPI() as api:
        api.create("limitranges", NS, limit_range(default={"memory": "256Mi"}))
        body = pod("p", container("binder", requests={"memory": "512Mi"}))
        assert refusal(api, body) == (
            'Pod "p" is invalid: spec.containers[0].resources.requests[memory]: '
            'Invalid value: "512Mi": must be less than or equal to memory '
            "limit of 256Mi"
        )


async def test_the_refusal_reaches_a_client_as_the_api_servers_status():
    with KubeAPI() as api:
        api.create("resourcequotas", NS, quota("q", **{"limits.memory": "1Gi"}))
        async with core(api) as v1:
            bare = pod("", container("notebook"))
            bare["metadata"] = {"generateName": "jupyter-"}
            status, reason, body = await failure(v1.create_namespaced_pod(NS, bare))
    assert (status, reason, body["reason"], body["code"]) == (
        403,
        "Forbidden",
        "Forbidden",
        403,
    )
    # A generated name is in the message, as the API server words it.
    assert body["message"].startswith('pods "jupyter-')
    assert body["message"].endswith(
        '" is forbidden: failed quota: q: must specify limits.memory for: notebook'
    )


# -- the production example --------------------------------------------------


@pytest.fixture(scope="module")
def cerit_release() -> list[dict[str, Any]]:
    return chart.manifests(chart.render(chart.load_values(CERIT)))


def install(api: KubeAPI, objects: list[dict], kinds: tuple[str, ...]) -> None:
    for obj in objects:
        if obj["kind"] in kinds:
            api.create(f"{obj['kind'].lower()}s", NS, obj)


def test_every_pod_of_the_cerit_release_is_admitted_under_its_quota(cerit_release):
    kinds = {o["kind"] for o in cerit_release}
    assert {"ResourceQuota", "LimitRange"} <= kinds
    expected = {
        "hub",
        "proxy",
        "user-scheduler",
        "binder",
        "binderhub-dind",
        "binderhub-image-cleaner",
    }
    with KubeAPI() as api:
        install(api, cerit_release, ("ResourceQuota", "LimitRange"))
        admitted = admit_release_pods(api, cerit_release, NS)
        made = {p["metadata"]["generateName"].rstrip("-") for p in admitted}
        assert expected <= made
        for each in admitted:
            assert each["spec"]["nodeName"] == RELEASE_NODE
            for part in ("initContainers", "containers"):
                for c in each["spec"].get(part) or []:
                    assert {"cpu", "memory"} <= set(c["resources"]["limits"]), c
        used = api.get("resourcequotas", NS, "persistent-binderhub")["status"]["used"]
        assert used["pods"] == str(len(admitted))


def test_without_its_limit_range_the_cerit_release_is_refused(cerit_release):
    """What values/cerit.yaml did before it had a LimitRange: Kubernetes
    refuses the first pod whose containers lack the limits the quota counts."""
    without = [o for o in cerit_release if o["kind"] != "LimitRange"]
    with KubeAPI() as api:
        install(api, without, ("ResourceQuota",))
        with pytest.raises(ApiError) as refused:
            admit_release_pods(api, without, NS)
    assert refused.value.code == 403
    assert "failed quota: persistent-binderhub: must specify" in refused.value.message


def test_the_release_pods_are_what_the_controllers_make(cerit_release):
    pods = pods_of(cerit_release)
    placeholders = chart.find(cerit_release, "StatefulSet", "user-placeholder")
    replicas = placeholders["spec"].get("replicas", 1)
    assert (
        sum(p["metadata"].get("name", "").startswith("user-placeholder") for p in pods)
        == replicas
    )
    deployments = [o for o in cerit_release if o["kind"] == "Deployment"]
    hub = next(p for p in pods if p["metadata"].get("generateName") == "hub-")
    assert hub["spec"]["containers"] == copy.deepcopy(
        chart.find(deployments, "Deployment", "hub")["spec"]["template"]["spec"][
            "containers"
        ]
    )
