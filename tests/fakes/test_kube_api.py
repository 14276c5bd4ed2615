"""fakes/kube_api.py, spoken to by the real kubernetes_asyncio client (the
version the hub image pins), as KubeSpawner and our hub code speak to a
cluster: if the stand-in answered in a way the client cannot read, or not as
the API server would, these fail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client import ApiClient, ApiException, Configuration

from fakes.kube_api import Conflict, KubeAPI, NotFound, served
from offline import chart

NS = chart.NAMESPACE


def configuration(api: KubeAPI, token: str | None = "token") -> Configuration:
    keys = {"BearerToken": token} if token else {}
    return Configuration(
        host=api.url, api_key=keys, api_key_prefix={"BearerToken": "Bearer"}
    )


@contextlib.asynccontextmanager
async def core(api: KubeAPI, token: str | None = "token") -> AsyncIterator[Any]:
    async with ApiClient(configuration(api, token)) as api_client:
        yield client.CoreV1Api(api_client)


def pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": "notebook", "image": "jupyter/base"}]},
    }


async def failure(call: Any) -> tuple[int, str, dict[str, Any]]:
    """The client's ApiException for a call that must fail: status, reason, body."""
    with pytest.raises(ApiException) as caught:
        await call
    return caught.value.status, caught.value.reason, json.loads(caught.value.body)


async def connected(api: KubeAPI, count: int = 1) -> None:
    """Wait (bounded) until the server has seen ``count`` watch requests."""
    for _ in range(250):
        if sum("watch=True" in path for _, path in api.calls("GET")) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no watch reached the server: {api.calls()}")


async def test_create_get_list_delete_round_trip():
    with KubeAPI() as api:
        async with core(api) as v1:
            sent = pod("alice")
            sent["status"] = {"phase": "Running"}  # the API server ignores it
            first = await v1.create_namespaced_pod(NS, sent)
            body = pod("")
            body["metadata"] = {"generateName": "bob-"}
            second = await v1.create_namespaced_pod(NS, body)
            read = await v1.read_namespaced_pod("alice", NS)
            listed = await v1.list_namespaced_pod(NS)
            gone = await v1.delete_namespaced_pod(
                "alice", NS, body=client.V1DeleteOptions(grace_period_seconds=0)
            )
            missing = await failure(v1.read_namespaced_pod("alice", NS))
            after = await v1.list_namespaced_pod(NS)
            await v1.create_namespaced_secret(NS, {"metadata": {"name": "key"}})
            deleted_secret = await v1.delete_namespaced_secret("key", NS)

        assert first.metadata.namespace == NS
        assert first.metadata.uid and first.metadata.creation_timestamp
        assert first.status.phase == "Pending"
        assert second.metadata.name.startswith("bob-")
        assert len(second.metadata.name) == len("bob-") + 5
        assert second.metadata.uid != first.metadata.uid
        assert read.to_dict() == first.to_dict()
        versions = [
            first.metadata.resource_version,
            second.metadata.resource_version,
            listed.metadata.resource_version,
            after.metadata.resource_version,
        ]
        numbers = [int(v) for v in versions]
        assert numbers[0] < numbers[1] == numbers[2] < numbers[3], versions
        assert [p.metadata.name for p in listed.items] == sorted(
            ["alice", second.metadata.name]
        )
        assert listed.kind == "PodList" and listed.api_version == "v1"
        assert gone.kind == "Pod" and gone.metadata.name == "alice"
        assert missing[0] == 404
        assert [p.metadata.name for p in after.items] == [second.metadata.name]
        # Secrets answer a Status on delete (the OpenAPI spec says V1Status).
        assert deleted_secret.status == "Success"
        assert deleted_secret.details.name == "key"
        assert api.get("pods", NS, "alice") is None
        assert api.get("secrets", NS, "key") is None


async def test_conflict_and_not_found_as_the_client_raises_them():
    with KubeAPI() as api:
        async with core(api) as v1:
            await v1.create_namespaced_pod(NS, pod("alice"))
            duplicate, missing, delete_missing, missing_secret = [
                await failure(v1.create_namespaced_pod(NS, pod("alice"))),
                await failure(v1.read_namespaced_pod("bob", NS)),
                await failure(v1.delete_namespaced_pod("bob", NS)),
                await failure(v1.read_namespaced_secret("bob", NS)),
            ]
        with pytest.raises(Conflict):
            api.create("pods", NS, pod("alice"))
        assert api.delete("pods", NS, "bob") is None
        with pytest.raises(NotFound):
            api.update_status("pods", NS, "bob", {"phase": "Running"})

    status, reason, body = duplicate
    assert (status, reason) == (409, "Conflict")
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["reason"] == "AlreadyExists" and body["code"] == 409
    assert body["message"] == 'pods "alice" already exists'
    for (status, reason, body), what in (
        (missing, "pods"),
        (delete_missing, "pods"),
        (missing_secret, "secrets"),
    ):
        assert (status, reason) == (404, "Not Found")
        assert body["reason"] == "NotFound"
        assert body["message"] == f'{what} "bob" not found'


async def test_label_and_field_selectors():
    labels = {
        "a": {"app": "hub", "tier": "x"},
        "b": {"app": "user", "tier": "y"},
        "c": {"app": "user"},
        "d": {},
    }
    label_cases = {
        "app=user": "bc",
        "app==user": "bc",
        "app!=user": "ad",
        "tier": "ab",
        "!tier": "cd",
        "app in (hub,user),tier": "ab",
        "app notin (hub)": "bcd",
        "app=user,!tier": "c",
        "": "abcd",
    }
    field_cases = {
        "metadata.name=a": "a",
        "metadata.name!=a": "bcd",
        "metadata.name==b,metadata.namespace=" + NS: "b",
        "metadata.namespace=elsewhere": "",
        "status.phase=Running": "b",
        "status.phase!=Running": "acd",
    }

    with KubeAPI() as api:
        found: dict[str, Any] = {}
        async with core(api) as v1:
            for name, pod_labels in labels.items():
                await v1.create_namespaced_pod(NS, pod(name, pod_labels))
            api.update_status("pods", NS, "b", {"phase": "Running"})
            for selector in label_cases:
                found[selector] = await v1.list_namespaced_pod(
                    NS, label_selector=selector
                )
            for selector in field_cases:
                found[selector] = await v1.list_namespaced_pod(
                    NS, field_selector=selector
                )
            for kind in ("Pod", "Node"):
                event = {
                    "metadata": {"name": f"{kind.lower()}-event"},
                    "involvedObject": {"kind": kind, "name": "a"},
                    "reason": "Scheduled",
                }
                await v1.create_namespaced_event(NS, event)
            # What KubeSpawner's event reflector asks for.
            found["events"] = await v1.list_namespaced_event(
                NS, field_selector="involvedObject.kind=Pod"
            )
            found["bad field"] = await failure(
                v1.list_namespaced_pod(NS, field_selector="spec.foo=x")
            )
            found["bad labels"] = await failure(
                v1.list_namespaced_pod(NS, label_selector="app in ()")
            )
        in_process = [p["metadata"]["name"] for p in api.list("pods", NS, "!tier")]

    for selector, names in {**label_cases, **field_cases}.items():
        got = "".join(p.metadata.name for p in found[selector].items)
        assert got == names, selector
    assert [e.metadata.name for e in found["events"].items] == ["pod-event"]
    assert found["bad field"][0] == 400
    assert found["bad field"][2]["message"] == "field label not supported: spec.foo"
    assert found["bad labels"][0] == 400
    assert in_process == ["c", "d"]


async def test_a_watch_sees_changes_in_order_and_nothing_before_its_version():
    """ADDED, MODIFIED (from update_status and from a patch), DELETED, and the
    selector's view: an object whose labels leave it is DELETED for it."""
    selected = {"component": "singleuser-server"}

    with KubeAPI() as api:
        async with core(api) as v1:
            await v1.create_namespaced_pod(NS, pod("before", selected))
            api.update_status("pods", NS, "before", {"phase": "Running"})
            since = (await v1.list_namespaced_pod(NS)).metadata.resource_version
            seen: list[tuple[str, str, str | None, int]] = []

            async def watching() -> None:
                async with watch.Watch().stream(
                    v1.list_namespaced_pod,
                    NS,
                    label_selector="component=singleuser-server",
                    resource_version=since,
                    timeout_seconds=10,
                ) as stream:
                    async for event in stream:
                        obj = event["object"]
                        seen.append(
                            (
                                event["type"],
                                obj.metadata.name,
                                obj.status.phase if obj.status else None,
                                int(obj.metadata.resource_version),
                            )
                        )
                        if len(seen) == 6:
                            break

            task = asyncio.create_task(watching())
            await connected(api)
            await v1.create_namespaced_pod(NS, pod("other"))  # not selected
            await v1.create_namespaced_pod(NS, pod("alice", selected))
            await asyncio.to_thread(
                api.update_status, "pods", NS, "alice", {"phase": "Running"}
            )
            await v1.patch_namespaced_pod(
                "alice", NS, {"metadata": {"labels": {"x": "1"}}}
            )
            await v1.create_namespaced_pod(NS, pod("bob", selected))
            await v1.patch_namespaced_pod(
                "bob", NS, {"metadata": {"labels": {"component": None}}}
            )
            await v1.delete_namespaced_pod("alice", NS)
            await asyncio.wait_for(task, 10)
            since = int(since)

    assert [(t, n, p) for t, n, p, _ in seen] == [
        ("ADDED", "alice", "Pending"),
        ("MODIFIED", "alice", "Running"),
        ("MODIFIED", "alice", "Running"),
        ("ADDED", "bob", "Pending"),
        ("DELETED", "bob", "Pending"),  # left the selection
        ("DELETED", "alice", "Running"),
    ]
    versions = [rv for *_, rv in seen]
    assert versions == sorted(set(versions)) and versions[0] > since


async def test_a_watch_from_zero_lists_first_and_ends_at_its_timeout():
    with KubeAPI() as api:
        async with core(api) as v1:
            for name in ("alice", "bob"):
                await v1.create_namespaced_pod(NS, pod(name))
            started = time.monotonic()
            seen = []
            async with watch.Watch().stream(
                v1.list_namespaced_pod, NS, timeout_seconds=1
            ) as stream:
                async for event in stream:
                    seen.append((event["type"], event["object"].metadata.name))
            took = time.monotonic() - started
    assert seen == [("ADDED", "alice"), ("ADDED", "bob")]
    assert 0.9 < took < 3


async def test_a_watch_from_a_forgotten_version_gets_410_gone():
    with KubeAPI() as api:
        api.history_limit = 3
        async with core(api) as v1:
            first = await v1.create_namespaced_pod(NS, pod("p0"))
            for i in range(1, 5):
                await v1.create_namespaced_pod(NS, pod(f"p{i}"))
            with pytest.raises(ApiException) as caught:
                async with watch.Watch().stream(
                    v1.list_namespaced_pod,
                    NS,
                    resource_version=first.metadata.resource_version,
                    timeout_seconds=2,
                ) as stream:
                    async for _ in stream:
                        pass
            status, reason = caught.value.status, caught.value.reason
    assert status == 410
    assert reason.startswith("Expired: too old resource version")


async def test_watches_block_nothing_and_end_when_the_server_stops():
    api = KubeAPI().__enter__()

    async with core(api) as v1:
        seen: list[str] = []

        async def watching() -> None:
            async with watch.Watch().stream(
                v1.list_namespaced_pod, NS, timeout_seconds=60
            ) as stream:
                async for event in stream:
                    seen.append(event["object"].metadata.name)

        tasks = [asyncio.create_task(watching()) for _ in range(3)]
        await connected(api, 3)
        started = time.monotonic()
        for i in range(10):
            await v1.create_namespaced_pod(NS, pod(f"p{i}"))
            await v1.read_namespaced_pod(f"p{i}", NS)
        busy = time.monotonic() - started
        started = time.monotonic()
        await asyncio.to_thread(api.__exit__, None, None, None)
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        stopping = time.monotonic() - started
    assert sorted(seen) == sorted(f"p{i}" for i in range(10) for _ in range(3))
    assert busy < 2, busy
    assert stopping < 3, stopping


async def test_replace_and_patch_including_status():
    with KubeAPI() as api:
        out: dict[str, Any] = {}
        async with core(api) as v1:
            created = await v1.create_namespaced_pod(NS, pod("alice", {"a": "1"}))
            stale = created.metadata.resource_version
            api.update_status("pods", NS, "alice", {"phase": "Running"})
            current = api.get("pods", NS, "alice")
            replaced = dict(current, status={"phase": "Failed"})
            replaced["metadata"] = dict(current["metadata"], labels={"a": "2"})
            out["put"] = await v1.replace_namespaced_pod("alice", NS, replaced)
            stale_body = dict(replaced)
            stale_body["metadata"] = dict(replaced["metadata"], resourceVersion=stale)
            out["stale"] = await failure(
                v1.replace_namespaced_pod("alice", NS, stale_body)
            )
            status_body = api.get("pods", NS, "alice")
            status_body["status"] = {"phase": "Succeeded"}
            status_body["metadata"]["labels"] = {"ignored": "yes"}
            out["put status"] = await v1.replace_namespaced_pod_status(
                "alice", NS, status_body
            )
            out["merge"] = await v1.patch_namespaced_pod(
                "alice", NS, {"metadata": {"labels": {"a": None, "b": "2"}}}
            )
            out["noop"] = await v1.patch_namespaced_pod(
                "alice", NS, {"metadata": {"labels": {"b": "2"}}}
            )
            out["json"] = await v1.patch_namespaced_pod(
                "alice", NS, [{"op": "add", "path": "/metadata/labels/c", "value": "3"}]
            )
            out["patch status"] = await v1.patch_namespaced_pod_status(
                "alice", NS, {"status": {"podIP": "10.0.0.7"}}
            )
            out["failed test"] = await failure(
                v1.patch_namespaced_pod(
                    "alice",
                    NS,
                    [{"op": "test", "path": "/metadata/name", "value": "x"}],
                )
            )
            out["apply"] = await failure(
                v1.patch_namespaced_pod(
                    "alice", NS, {}, _content_type="application/apply-patch+yaml"
                )
            )
            await v1.create_namespaced_secret(NS, {"metadata": {"name": "key"}})
            out["no status subresource"] = await failure(
                v1.api_client.call_api(  # the client has no method for it either
                    f"/api/v1/namespaces/{NS}/secrets/key/status",
                    "GET",
                    auth_settings=["BearerToken"],
                    response_types_map={200: "object"},
                )
            )

    put = out["put"]
    assert put.metadata.labels == {"a": "2"}
    assert put.status.phase == "Running"  # PUT on the pod keeps its status
    assert out["stale"][0] == 409
    assert out["stale"][2]["message"].startswith(
        'Operation cannot be fulfilled on pods "alice": the object has been modified'
    )
    assert out["put status"].status.phase == "Succeeded"
    assert out["put status"].metadata.labels == {"a": "2"}  # /status: status only
    assert out["merge"].metadata.labels == {"b": "2"}
    noop, merge = out["noop"].metadata, out["merge"].metadata
    assert noop.resource_version == merge.resource_version  # nothing changed
    assert out["json"].metadata.labels == {"b": "2", "c": "3"}
    assert out["patch status"].status.pod_ip == "10.0.0.7"
    assert out["patch status"].status.phase == "Succeeded"
    changes = ("put", "put status", "merge", "json", "patch status")
    versions = [int(out[k].metadata.resource_version) for k in changes]
    assert versions == sorted(set(versions))
    assert out["failed test"][0] == 422
    assert out["apply"][0] == 415
    assert out["no status subresource"][0] == 404


async def test_requests_are_validated_as_the_api_server_would():
    with KubeAPI() as api:
        out: dict[str, Any] = {}
        async with core(api) as v1:
            out["name"] = await failure(v1.create_namespaced_pod(NS, pod("Alice_1")))
            out["label"] = await failure(
                v1.create_namespaced_pod(NS, pod("alice", {"a": "x" * 64}))
            )
            no_image = pod("alice")
            del no_image["spec"]["containers"][0]["image"]
            out["image"] = await failure(v1.create_namespaced_pod(NS, no_image))
            elsewhere = pod("alice")
            elsewhere["metadata"]["namespace"] = "elsewhere"
            out["namespace"] = await failure(v1.create_namespaced_pod(NS, elsewhere))
            out["base64"] = await failure(
                v1.create_namespaced_secret(
                    NS, {"metadata": {"name": "s"}, "data": {"k": "not base64!"}}
                )
            )
            out["secret"] = await v1.create_namespaced_secret(
                NS, {"metadata": {"name": "s"}, "stringData": {"k": "v"}}
            )
    for case in ("name", "label", "image"):
        assert out[case][0] == 422, case
        assert out[case][2]["reason"] == "Invalid", case
    assert "metadata.name" in out["name"][2]["message"]
    assert "spec.containers[0].image: Required value" in out["image"][2]["message"]
    assert out["namespace"][0] == 400
    assert out["base64"][0] == 400
    assert out["secret"].data == {"k": "dg=="}  # stringData is folded into data
    assert out["secret"].string_data is None
    assert out["secret"].type == "Opaque"


async def test_subscribers_see_http_and_in_process_changes(capsys):
    seen: list[tuple[str, str, str, bool]] = []
    main = threading.get_ident()

    def record(event: str, resource: str, obj: dict) -> None:
        seen.append(
            (event, resource, obj["metadata"]["name"], threading.get_ident() == main)
        )
        obj["metadata"]["name"] = "scribbled"  # a copy: the store is untouched

    def broken(event: str, resource: str, obj: dict) -> None:
        raise RuntimeError("subscriber bug")

    later: list[str] = []  # what a subscriber after the scribbler gets

    def record_later(event: str, resource: str, obj: dict) -> None:
        later.append(obj["metadata"]["name"])

    with KubeAPI() as api:
        api.subscribe(record)
        api.subscribe(broken)
        api.subscribe(record_later)
        async with core(api) as v1:
            await v1.create_namespaced_secret(NS, {"metadata": {"name": "key"}})
            await v1.delete_namespaced_secret("key", NS)
        api.create("pods", NS, pod("alice"))
        api.update_status("pods", NS, "alice", {"phase": "Running"})
        api.delete("pods", NS, "alice")
        api.create("configmaps", NS, {"metadata": {"name": "settings"}})
        stored = api.get("configmaps", NS, "settings")

    assert seen == [
        ("ADDED", "secrets", "key", False),  # in the request's thread
        ("DELETED", "secrets", "key", False),
        ("ADDED", "pods", "alice", True),
        ("MODIFIED", "pods", "alice", True),
        ("DELETED", "pods", "alice", True),
        ("ADDED", "configmaps", "settings", True),
    ]
    assert later == [name for _, _, name, _ in seen]
    assert stored["metadata"]["name"] == "settings"
    assert capsys.readouterr().err.count("RuntimeError: subscriber bug") == 6


async def test_fail_next_create_delay_and_authentication():
    with KubeAPI() as api:
        out: dict[str, Any] = {}
        async with core(api) as v1:
            api.fail_next.extend([503, 500])
            out["503"] = await failure(v1.list_namespaced_pod(NS))
            out["500"] = await failure(v1.create_namespaced_pod(NS, pod("alice")))
            out["then"] = await v1.list_namespaced_pod(NS)
            api.create_delay = 0.5
            started = time.monotonic()
            creating = asyncio.create_task(v1.create_namespaced_pod(NS, pod("alice")))
            await asyncio.sleep(0.2)
            out["meanwhile"] = await v1.list_namespaced_pod(NS)
            out["meanwhile took"] = time.monotonic() - started
            await creating
            out["create took"] = time.monotonic() - started
        async with core(api, token=None) as anonymous:
            out["no token"] = await failure(anonymous.list_namespaced_pod(NS))
        assert api.fail_next == []
        assert ("POST", f"/api/v1/namespaces/{NS}/pods") in api.calls("POST")
        assert all(m == "GET" for m, _ in api.calls("GET"))
    assert out["503"][:2] == (503, "Service Unavailable")
    assert out["503"][2]["reason"] == "ServiceUnavailable"
    assert out["500"][0] == 500
    assert out["then"].items == []
    assert out["meanwhile"].items == []  # the create waits, the list does not
    assert out["meanwhile took"] < 0.45 <= out["create took"]
    assert out["no token"][:2] == (401, "Unauthorized")


async def test_discovery_answers_the_client():
    with KubeAPI() as api:
        async with core(api) as v1:
            version = await client.VersionApi(v1.api_client).get_code()
            versions = await client.CoreApi(v1.api_client).get_api_versions()
            resources = await v1.get_api_resources()
    assert (version.major, version.minor) == tuple(chart.KUBE_VERSION.split("."))
    assert versions.versions == ["v1"]
    assert sorted(r.name for r in resources.resources) == sorted(
        [*served(), "namespaces"]
    )


# -- RBAC from the rendered release ----------------------------------------------

SINGULAR = {
    "pods": "pod",
    "persistentvolumeclaims": "persistent_volume_claim",
    "secrets": "secret",
    "services": "service",
    "events": "event",
    "configmaps": "config_map",
    "resourcequotas": "resource_quota",
    "limitranges": "limit_range",
}


async def answer(v1: Any, resource: str, verb: str) -> int:
    """The HTTP status of one request of ``verb`` on ``resource``."""
    base, _, sub = resource.partition("/")
    kind = SINGULAR[base] + ("_status" if sub else "")
    body = {"metadata": {"name": "rbac-probe"}}
    calls = {
        "get": lambda: getattr(v1, f"read_namespaced_{kind}")("rbac-probe", NS),
        "list": lambda: getattr(v1, f"list_namespaced_{kind}")(NS),
        "watch": lambda: getattr(v1, f"list_namespaced_{kind}")(
            NS, watch=True, timeout_seconds=1, _preload_content=False
        ),
        "create": lambda: getattr(v1, f"create_namespaced_{kind}")(NS, body),
        "update": lambda: getattr(v1, f"replace_namespaced_{kind}")(
            "rbac-probe", NS, body
        ),
        "patch": lambda: getattr(v1, f"patch_namespaced_{kind}")("rbac-probe", NS, {}),
        "delete": lambda: getattr(v1, f"delete_namespaced_{kind}")("rbac-probe", NS),
    }
    try:
        response = await calls[verb]()
    except ApiException as error:
        return error.status
    if hasattr(response, "release"):  # a watch's raw response: hang up
        response.release()
        return response.status
    return 200


def probes() -> list[tuple[str, str]]:
    """Every (resource, verb) the stand-in serves: the verbs Kubernetes names."""
    return [
        (resource, verb)
        for resource in served()
        for verb in ("get", "list", "watch", "create", "update", "patch", "delete")
        if "/" not in resource or verb in ("get", "update", "patch")
    ]


@pytest.fixture(scope="module")
def release() -> list[dict[str, Any]]:
    values = chart.load_values(chart.ROOT / "values" / "minimal.yaml")
    return chart.manifests(chart.render(values))


async def test_the_hub_token_has_exactly_the_rendered_roles_grants(release):
    role = chart.find(release, "Role", "hub")
    binding = chart.find(release, "RoleBinding", "hub")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "hub",
    }
    assert {"kind": "ServiceAccount", "name": "hub", "namespace": NS} in binding[
        "subjects"
    ]
    # z2jh's Role, and ours that lets the hub read the namespace's quotas.
    reader = chart.find(release, "Role", "persistent-binderhub-quota-reader")
    reader_binding = chart.find(
        release, "RoleBinding", "persistent-binderhub-quota-reader"
    )
    assert {"kind": "ServiceAccount", "name": "hub", "namespace": NS} in (
        reader_binding["subjects"]
    )
    granted = {
        (resource, verb)
        for rule in [*role["rules"], *reader["rules"]]
        if "" in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert {v for r, v in granted if r == "resourcequotas"} == {"get", "list"}

    with KubeAPI.for_release(release, {"hub": "hub-token"}) as api:
        async with core(api, "hub-token") as v1:
            answers = {probe: await answer(v1, *probe) for probe in probes()}
            answers[("pods", "create 201")] = (
                201 if await v1.create_namespaced_pod(NS, pod("alice")) else 0
            )
            secret = {"metadata": {"name": "key"}, "stringData": {"k": "v"}}
            answers[("secrets", "create 201")] = (
                201 if await v1.create_namespaced_secret(NS, secret) else 0
            )
            answers[("events", "list 200")] = (
                200 if await v1.list_namespaced_event(NS) else 0
            )
            answers[("secrets", "patch message")] = await failure(
                v1.patch_namespaced_secret("key", NS, {"data": {}})
            )

    for probe in probes():
        refused = answers[probe] == 403
        assert refused == (probe not in granted), (probe, answers[probe])
    assert ("configmaps", "get") not in granted  # so configmaps were all refused
    assert answers[("pods", "create 201")] == 201
    assert answers[("secrets", "create 201")] == 201
    assert answers[("events", "list 200")] == 200
    status, _, body = answers[("secrets", "patch message")]
    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'secrets "key" is forbidden: User "system:serviceaccount:binderhub:hub" '
        'cannot patch resource "secrets" in API group "" in the namespace "binderhub"'
    )


async def test_other_accounts_and_unknown_tokens(release):
    tokens = {
        "hub": "hub-token",
        "user-scheduler": "scheduler-token",  # ClusterRoleBinding, pods/status
        "binderhub-image-cleaner": "cleaner-token",  # only nodes, cluster-wide
    }

    with KubeAPI.for_release(release, tokens) as api:
        out: dict[str, Any] = {}
        for token in ("cleaner-token", "unknown-token"):
            async with core(api, token) as v1:
                out[token] = {await answer(v1, *probe) for probe in probes()}
        async with core(api, "scheduler-token") as v1:
            out["scheduler pods/status"] = await answer(v1, "pods/status", "patch")
            out["scheduler pods"] = await answer(v1, "pods", "patch")
    assert out["cleaner-token"] == {403}
    # A token that authenticates no one: 401, as the API server answers it.
    assert out["unknown-token"] == {401}
    assert out["scheduler pods/status"] == 404  # allowed; there is no such pod
    assert out["scheduler pods"] == 403
    with pytest.raises(KeyError, match="nobody"):
        KubeAPI.for_release(release, {"nobody": "t"})


async def test_kubespawner_starts_and_stops_a_pod_with_the_hub_role(
    release, make_spawner
):
    """KubeSpawner 7.0's own start() and stop(), reflectors included, with the
    rendered hub Role's permissions; a subscriber plays the kubelet."""
    from kubespawner import KubeSpawner
    from traitlets.config import Config

    def kubelet(event: str, resource: str, obj: dict) -> None:
        if resource == "pods" and event == "ADDED":
            api.update_status(
                "pods",
                NS,
                obj["metadata"]["name"],
                {
                    "phase": "Running",
                    "podIP": "127.0.0.1",
                    "containerStatuses": [
                        {
                            "name": "notebook",
                            "ready": True,
                            "restartCount": 0,
                            "image": "jupyter/base",
                            "imageID": "",
                        }
                    ],
                },
            )

    # fakes/kubeconfig.yaml's token: the one KubeSpawner's client sends.
    with KubeAPI.for_release(release, {"hub": "not-a-secret"}) as api:
        api.subscribe(kubelet)
        c = Config()
        c.KubeSpawner.k8s_api_host = api.url
        c.KubeSpawner.namespace = NS
        c.KubeSpawner.storage_pvc_ensure = True
        c.KubeSpawner.pvc_name_template = "claim-{username}"
        c.KubeSpawner.storage_capacity = "1Gi"
        c.KubeSpawner.start_timeout = 10

        spawner = make_spawner(c)
        try:
            url = await asyncio.wait_for(spawner.start(), 15)
            pods = [p["metadata"]["name"] for p in api.list("pods", NS)]
            await asyncio.wait_for(spawner.stop(), 15)
        finally:
            await KubeSpawner._stop_all_reflectors()
        claim = api.get("persistentvolumeclaims", NS, "claim-alice")
        left = api.list("pods", NS)
        calls = api.calls()

    assert url == "http://127.0.0.1:8888"
    assert pods == ["jupyter-alice--project"]
    assert left == []
    assert claim is not None and claim["status"] == {"phase": "Pending"}
    assert ("POST", f"/api/v1/namespaces/{NS}/persistentvolumeclaims") in calls
    paths = [(m, p.split("?")[0]) for m, p in calls]
    assert ("DELETE", f"/api/v1/namespaces/{NS}/pods/jupyter-alice--project") in paths
    watched = {p.split("?")[0] for m, p in calls if "watch=True" in p}
    assert watched == {
        f"/api/v1/namespaces/{NS}/pods",
        f"/api/v1/namespaces/{NS}/events",
    }


def test_deleting_an_owner_collects_its_dependents_as_the_garbage_collector():
    with KubeAPI() as api:
        owner = api.create("pods", NS, pod("owner"))
        other = api.create("pods", NS, pod("other"))

        def secret(name: str, *owners: dict, kind: str = "Pod") -> dict:
            refs = [
                {
                    "apiVersion": "v1",
                    "kind": kind,
                    "name": o["metadata"]["name"],
                    "uid": o["metadata"]["uid"],
                }
                for o in owners
            ]
            body = {"metadata": {"name": name, "ownerReferences": refs}}
            return api.create("secrets", NS, body)

        secret("owned", owner)
        secret("shared", owner, other)
        secret("free")
        node = {"metadata": {"name": "node-1", "uid": "node-uid"}}
        secret("on-a-node", owner, node, kind="Node")
        ref = {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": "owner",
            "uid": owner["metadata"]["uid"],
        }
        chained = api.create(
            "configmaps",
            NS,
            {"metadata": {"name": "chained", "ownerReferences": [ref]}},
        )
        secret("owned-by-chained", chained, kind="ConfigMap")
        api.delete("pods", NS, "owner")
        assert api.get("secrets", NS, "owned") is None
        assert api.get("configmaps", NS, "chained") is None
        assert api.get("secrets", NS, "owned-by-chained") is None  # in cascade
        assert api.get("secrets", NS, "free") is not None
        # An owner still there keeps it, without the deleted one's reference.
        shared = api.get("secrets", NS, "shared")
        assert [r["name"] for r in shared["metadata"]["ownerReferences"]] == ["other"]
        # A kind this cluster does not keep (a Node) counts as present.
        assert api.get("secrets", NS, "on-a-node") is not None


async def test_an_orphaning_delete_keeps_the_dependents_without_the_reference():
    with KubeAPI() as api:
        owner = api.create("pods", NS, pod("owner"))
        ref = {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": "owner",
            "uid": owner["metadata"]["uid"],
        }
        api.create("secrets", NS, {"metadata": {"name": "s", "ownerReferences": [ref]}})
        async with core(api) as v1:
            await v1.delete_namespaced_pod(
                "owner", NS, body={"propagationPolicy": "Orphan"}
            )
        kept = api.get("secrets", NS, "s")
    assert kept is not None and "ownerReferences" not in kept["metadata"]
