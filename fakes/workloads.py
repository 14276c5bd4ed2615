"""The release's own pods on the loopback cluster, as its controllers make them.

No Deployment, StatefulSet or DaemonSet controller runs here, and the hub,
proxy and BinderHub run as local processes assembled from the rendered
objects (offline/hub_pod.py). Their pods still have to pass the namespace's
admission, as on a real cluster, where a LimitRange fills defaults and a
ResourceQuota refuses a container without the limits it counts. So each
workload's pods are created through the loopback API's admission, with the
name a controller would give them, bound to a node no kubelet here runs:
they hold their share of the quota, and a release the real API server would
refuse fails here the same way.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

from fakes.kube_api import KubeAPI

#: The node the release's pods are bound to; fakes/kubelet.py runs none of them.
RELEASE_NODE = "release-node"
#: What Kubernetes makes of each workload: pods per object (replicas, or one
#: per node of this one-node cluster).
_CONTROLLED = ("Deployment", "StatefulSet", "DaemonSet")


def pods_of(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pods the controllers of ``objects`` would create, in order."""
    pods = []
    for obj in objects:
        if obj.get("kind") not in _CONTROLLED:
            continue
        spec = obj.get("spec") or {}
        replicas = 1 if obj["kind"] == "DaemonSet" else spec.get("replicas", 1)
        template = spec.get("template") or {}
        name = obj["metadata"]["name"]
        for index in range(replicas):
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": copy.deepcopy(template.get("metadata") or {}),
                "spec": copy.deepcopy(template.get("spec") or {}),
            }
            if obj["kind"] == "StatefulSet":
                pod["metadata"]["name"] = f"{name}-{index}"
            else:
                pod["metadata"]["generateName"] = f"{name}-"
            pod["spec"]["nodeName"] = RELEASE_NODE
            pods.append(pod)
    return pods


def admit_release_pods(
    api: KubeAPI, objects: list[dict[str, Any]], namespace: str
) -> list[dict[str, Any]]:
    """Create the release's pods through admission; an ApiError (403 with the
    API server's words) if the namespace refuses one."""
    return [
        api.create("pods", namespace, pod, as_client=True) for pod in pods_of(objects)
    ]


#: The namespace objects of a release that decide what a pod may be.
NAMESPACE_POLICY = {"ResourceQuota": "resourcequotas", "LimitRange": "limitranges"}


@contextlib.contextmanager
def fresh_namespace(
    objects: list[dict[str, Any]], namespace: str, labels: dict[str, str] | None = None
) -> Iterator[KubeAPI]:
    """A loopback API whose ``namespace`` has ``labels`` and the release's
    ResourceQuota and LimitRange, as before `helm install` creates its pods
    (admit_release_pods next, as its controllers would)."""
    with KubeAPI() as api:
        api.namespace_labels[namespace] = dict(labels or {})
        for obj in objects:
            if obj.get("kind") in NAMESPACE_POLICY:
                api.create(NAMESPACE_POLICY[obj["kind"]], namespace, obj)
        yield api
