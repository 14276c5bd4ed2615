"""A stateful loopback stand-in for the Kubernetes core/v1 API.

No Kubernetes API server can run here (../shared/FACTS.md, 8), so this is the
smallest honest stand-in for one: real HTTP on loopback, spoken to by the real
kubernetes_asyncio client as KubeSpawner speaks to a cluster. It keeps pods,
persistentvolumeclaims, secrets, services, events and configmaps in memory,
with one increasing resourceVersion, label and field selectors, watches that
resume from a resourceVersion (410 Gone when it is too old), server-side watch
timeouts, PUT/PATCH (the /status subresource included), Status bodies worded
as the API server words them, and RBAC from the rendered release's Roles.

kmock (PyPI, v0.8) was evaluated and not used: its stateful emulator has no
label selectors, no per-object resourceVersion (lists answer '...'), no watch
resourceVersion or timeoutSeconds, and no RBAC; each gap would have needed an
adapter larger than this module.

Where it differs from a real API server, on purpose (keep it in mind when a
test passes here):

- deletion is immediate (no graceful pod termination, no finalizers);
  dependents whose ownerReferences all point at deleted owners are deleted
  right after their owner (the garbage collector's background propagation,
  at once), or lose the reference with propagationPolicy Orphan; there is
  no scheduler or kubelet (fakes/kubelet.py sets pod status through
  ``update_status``);
- strategic merge patch is applied as a JSON merge patch (lists are replaced,
  not merged by key); apply patches, ``dryRun`` and ``deletecollection``
  are not served (400/405/404); ``limit`` is ignored (every list is one
  complete page);
- Namespace objects are served (list, read, create, delete; deleting one
  deletes what it holds at once, with no Terminating phase to wait out), and
  lists and watches across all namespaces; but objects may be created in a
  namespace that has no Namespace object (the tests' clusters have none);
- pods/exec is served over a WebSocket (channel.k8s.io v4/v5) by the node
  (``executor``), but without stdin or a tty: the command runs to its end,
  then its output and exit status are sent at once;
- validation is light and HTTP-only: names, labels, Secret/ConfigMap keys and
  base64, a pod's container names and images, a claim's access modes and
  size. Pod spec changes after creation are not refused;
- in-process calls (``create``, ``update_status``...) are the test harness's
  hand: no RBAC, no validation, and ``create`` keeps a given ``status``
  (HTTP creates reset it, as the API server does).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import json
import random
import re
import select
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import jsonpatch
import jsonpointer

from fakes import admission, pod_security
from fakes.cluster import KUBE_VERSION, NAMESPACE
from fakes.standins import LoopbackServer, _Handler

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
#: The API server's own default is 30-60 minutes; a test never needs that.
MAX_WATCH_SECONDS = 300
_COMMON_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class _Kind:
    kind: str
    singular: str
    #: Status an HTTP create starts with; None: no /status subresource.
    initial_status: dict[str, Any] | None
    #: DELETE answers the object (else a Status), as the OpenAPI spec says.
    returns_object: bool
    #: Field selectors beyond metadata.name/namespace, as the API server's.
    fields: tuple[str, ...]
    short_names: tuple[str, ...]


RESOURCES: dict[str, _Kind] = {
    "pods": _Kind(
        "Pod",
        "pod",
        {"phase": "Pending"},
        True,
        (
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ),
        ("po",),
    ),
    "persistentvolumeclaims": _Kind(
        "PersistentVolumeClaim",
        "persistentvolumeclaim",
        {"phase": "Pending"},
        True,
        (),
        ("pvc",),
    ),
    "secrets": _Kind("Secret", "secret", None, False, ("type",), ()),
    "services": _Kind("Service", "service", {"loadBalancer": {}}, True, (), ("svc",)),
    "events": _Kind(
        "Event",
        "event",
        None,
        False,
        (
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ),
        ("ev",),
    ),
    "configmaps": _Kind("ConfigMap", "configmap", None, False, (), ("cm",)),
    "resourcequotas": _Kind("ResourceQuota", "resourcequota", {}, True, (), ("quota",)),
    "limitranges": _Kind("LimitRange", "limitrange", None, False, (), ("limits",)),
}

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_PATH = re.compile(
    r"/api/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>[^/]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?"
)
#: Namespaces themselves (cluster-scoped), and lists across all namespaces.
_NAMESPACE_PATH = re.compile(r"/api/v1/namespaces(?:/(?P<name>[^/]+))?")
_ALL_PATH = re.compile(r"/api/v1/(?P<resource>[a-z]+)")
_LABEL_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?")
_DNS1035 = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
_LABEL_KEY = re.compile(rf"(?:{_SUBDOMAIN.pattern}/)?{_LABEL_NAME}")
_LABEL_VALUE = re.compile(rf"(?:{_LABEL_NAME})?")
_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")
_NAME_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"  # what generateName draws from


class ApiError(Exception):
    """A request the API server refuses; becomes a Status body over HTTP."""

    def __init__(
        self, code: int, message: str, reason: str = "", details: dict | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict[str, Any]:
        return _status(self.code, self.reason, self.message, self.details)


class Conflict(ApiError):
    """The object exists already (create) or changed meanwhile (update)."""


class NotFound(ApiError, LookupError):
    """No such object; a LookupError so harness code can suppress it plainly."""


def _status(
    code: int, reason: str, message: str, details: dict | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class _Change(NamedTuple):
    rv: int
    type: str
    resource: str
    namespace: str
    old: dict[str, Any] | None
    new: dict[str, Any]


# -- selectors -----------------------------------------------------------------


def _split_top(text: str) -> list[str]:
    """Split at commas outside parentheses (`a in (x,y),b` is two parts)."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _label_requirements(selector: str) -> list[tuple[str, str, frozenset[str]]]:
    """labelSelector as (key, operator, values), the API server's grammar."""
    if not selector.strip():
        return []
    requirements = []
    for part in _split_top(selector):
        if m := re.fullmatch(r"\s*(\S+)\s+(in|notin)\s*\((.*)\)\s*", part):
            key, op = m.group(1), m.group(2)
            values = frozenset(v.strip() for v in m.group(3).split(","))
            if values == {""}:
                raise ApiError(400, f"for '{op}' operator, values set can't be empty")
        elif m := re.fullmatch(r"\s*!\s*([^\s=!<>(),]+)\s*", part):
            key, op, values = m.group(1), "!", frozenset()
        elif m := re.fullmatch(r"\s*([^\s=!<>(),]+)\s*(==|!=|=|<|>)\s*(\S*)\s*", part):
            key, op, values = m.group(1), m.group(2), frozenset({m.group(3)})
            if op in "<>" and not m.group(3).lstrip("-").isdigit():
                raise ApiError(400, f"unable to parse requirement: {part.strip()}")
        elif m := re.fullmatch(r"\s*([^\s=!<>(),]+)\s*", part):
            key, op, values = m.group(1), "exists", frozenset()
        else:
            raise ApiError(400, f"unable to parse requirement: {part.strip()!r}")
        if not _LABEL_KEY.fullmatch(key) or any(
            op not in "<>" and not _LABEL_VALUE.fullmatch(v) for v in values
        ):
            raise ApiError(400, f"unable to parse requirement: {part.strip()!r}")
        requirements.append((key, op, values))
    return requirements


def _labels_match(
    labels: dict[str, str], requirements: list[tuple[str, str, frozenset[str]]]
) -> bool:
    for key, op, values in requirements:
        present, value = key in labels, labels.get(key)
        if op in ("=", "==", "in"):
            ok = present and value in values
        elif op in ("!=", "notin"):
            ok = not present or value not in values
        elif op == "exists":
            ok = present
        elif op == "!":
            ok = not present
        else:  # < and >: both sides integers
            bound = int(next(iter(values)))
            ok = bool(present and re.fullmatch(r"-?\d+", value or "")) and (
                int(value) < bound if op == "<" else int(value) > bound
            )
        if not ok:
            return False
    return True


def _field_value(obj: dict[str, Any], path: str) -> str:
    """A field as the API server's field selectors see it (strings; "" if unset)."""
    if path == "source":  # events: source.component
        path = "source.component"
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if path == "spec.hostNetwork":
        return "true" if node else "false"
    if isinstance(node, bool):
        return "true" if node else "false"
    return "" if node is None else str(node)


class _Selector:
    """labelSelector and fieldSelector of one request, parsed once."""

    def __init__(self, resource: str, labels: str = "", fields: str = "") -> None:
        self.labels = _label_requirements(labels)
        self.fields: list[tuple[str, bool, str]] = []
        allowed = _COMMON_FIELDS + RESOURCES[resource].fields
        for part in fields.split(",") if fields.strip() else []:
            m = re.fullmatch(r"\s*([^=!\s]+)\s*(==|!=|=)\s*(.*?)\s*", part)
            if m is None:
                raise ApiError(
                    400, f"invalid selector: '{fields}'; can't understand '{part}'"
                )
            if m.group(1) not in allowed:
                raise ApiError(400, f"field label not supported: {m.group(1)}")
            self.fields.append((m.group(1), m.group(2) != "!=", m.group(3)))

    def __call__(self, obj: dict[str, Any]) -> bool:
        metadata = obj.get("metadata") or {}
        return _labels_match(metadata.get("labels") or {}, self.labels) and all(
            (_field_value(obj, path) == value) == equal
            for path, equal, value in self.fields
        )


# -- patches ------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(doc: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 JSON patch, applied by the jsonpatch library (a copy of
    ``doc``); one that does not apply raises ValueError, which the caller
    answers as the API server does (422)."""
    try:
        return jsonpatch.apply_patch(doc, operations, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
        raise ValueError(str(error)) from None


# -- validation (HTTP requests only) --------------------------------------------


def _invalid(kind: str, name: str, problem: str) -> ApiError:
    return ApiError(
        422,
        f'{kind} "{name}" is invalid: {problem}',
        "Invalid",
        {"name": name, "kind": kind},
    )


def _validate(resource: str, obj: dict[str, Any]) -> None:
    """What the API server would refuse that our code could plausibly send."""
    kind = RESOURCES[resource].kind
    metadata = obj["metadata"]
    name = metadata["name"]
    pattern = _DNS1035 if resource == "services" else _SUBDOMAIN
    limit = 63 if resource == "services" else 253
    if len(name) > limit or not pattern.fullmatch(name):
        raise _invalid(
            kind,
            name,
            f'metadata.name: Invalid value: "{name}": must '
            f"match {pattern.pattern} and be at most {limit} characters",
        )
    for key, value in (metadata.get("labels") or {}).items():
        if not _LABEL_KEY.fullmatch(key) or len(key.rpartition("/")[0]) > 253:
            raise _invalid(kind, name, f'metadata.labels: Invalid value: "{key}"')
        if not isinstance(value, str) or not _LABEL_VALUE.fullmatch(value):
            raise _invalid(
                kind,
                name,
                f'metadata.labels: Invalid value: "{value}": '
                "must be 63 characters or less, alphanumeric at both "
                "ends, with '-', '_' or '.' between",
            )
    if resource in ("secrets", "configmaps"):
        for field in ("data", "binaryData"):
            for key in obj.get(field) or {}:
                if not _DATA_KEY.fullmatch(key):
                    raise _invalid(
                        kind,
                        name,
                        f'{field}[{key}]: Invalid value: "{key}"'
                        ": a valid config key must consist of "
                        "alphanumeric characters, '-', '_' or '.'",
                    )
    if resource == "pods":
        containers = (obj.get("spec") or {}).get("containers") or []
        if not containers:
            raise _invalid(kind, name, "spec.containers: Required value")
        init = (obj.get("spec") or {}).get("initContainers") or []
        for part, listed in (("initContainers", init), ("containers", containers)):
            for i, container in enumerate(listed):
                for field in ("name", "image"):
                    if not container.get(field):
                        raise _invalid(
                            kind, name, f"spec.{part}[{i}].{field}: Required value"
                        )
                problem = _request_over_limit(container.get("resources") or {})
                if problem:
                    raise _invalid(
                        kind, name, f"spec.{part}[{i}].resources.requests{problem}"
                    )
    if resource == "persistentvolumeclaims":
        spec = obj.get("spec") or {}
        if not spec.get("accessModes"):
            raise _invalid(kind, name, "spec.accessModes: Required value")
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            raise _invalid(kind, name, "spec.resources[storage]: Required value")


def _owners(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["metadata"].get("ownerReferences") or []


def _without_owner(obj: dict[str, Any], uid: str) -> dict[str, Any]:
    kept = [r for r in _owners(obj) if r.get("uid") != uid]
    if kept:
        obj["metadata"]["ownerReferences"] = kept
    else:
        obj["metadata"].pop("ownerReferences", None)
    return obj


def _request_over_limit(resources: dict[str, Any]) -> str:
    """The API server's words for a request above its limit, or ''."""
    limits = resources.get("limits") or {}
    for name, value in sorted((resources.get("requests") or {}).items()):
        if name not in limits:
            continue
        request = admission.Quantity.parse(value)
        limit = admission.Quantity.parse(limits[name])
        if request.amount > limit.amount:
            return (
                f'[{name}]: Invalid value: "{request}": must be less than '
                f"or equal to {name} limit of {limit}"
            )
    return ""


def _secret_data(obj: dict[str, Any], check_base64: bool) -> None:
    """stringData is write-only: the API server folds it into data."""
    data = obj.get("data") or {}
    if check_base64:
        for key, value in data.items():
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise ApiError(
                    400,
                    f'Secret in version "v1" cannot be handled '
                    f"as a Secret: illegal base64 data in {key}",
                ) from None
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data or "data" in obj:
        obj["data"] = data
    obj.setdefault("type", "Opaque")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def served() -> list[str]:
    """The namespaced resources this stand-in serves, with their status
    subresources (namespaces and pods/exec are served too)."""
    names = []
    for name in RESOURCES:
        names.append(name)
        if RESOURCES[name].initial_status is not None:
            names.append(f"{name}/status")
    return names


# -- the server -----------------------------------------------------------------


@dataclass
class Fault:
    """One call that goes wrong: ``verb`` on ``resource`` waits ``hang``
    seconds (at most 60), then answers ``status`` (0: then behaves normally)."""

    verb: str
    resource: str
    status: int = 500
    hang: float = 0.0


class KubeAPI(LoopbackServer):
    """core/v1 of one cluster, in memory; use as a context manager.

    ``permissions`` maps a bearer token to the (resource, verb) pairs it may
    use in every namespace (a subresource is "pods/status"); None lets any
    bearer token do anything. A token not in the map gets 401, as the API
    server answers a token that authenticates no one. ``for_release`` also
    gives grants that hold in one namespace only, as a RoleBinding's do.
    """

    #: Events kept for watches that resume from a resourceVersion.
    history_limit = 1000

    def __init__(
        self, permissions: dict[str, set[tuple[str, str]]] | None = None
    ) -> None:
        super().__init__()
        self.permissions = permissions
        #: token -> user name in 403 messages (for_release fills it).
        self.users: dict[str, str] = {}
        #: token -> (namespace, resource, verb) grants of RoleBindings.
        self._scoped: dict[str, set[tuple[str, str, str]]] = {}
        #: token -> (namespace, resource, verb, name) grants from rules with
        #: resourceNames; namespace "" for a ClusterRoleBinding's.
        self._named: dict[str, set[tuple[str, str, str, str]]] = {}
        #: Statuses to answer, in order, before behaving normally (fault cases).
        self.fail_next: list[int] = []
        #: Faults aimed at one verb on one resource, each used once, in order.
        self.faults: list[Fault] = []
        #: Seconds each HTTP create waits before it is applied (to overlap them).
        self.create_delay = 0.0
        self._store: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._rv = 1
        self._history: deque[_Change] = deque()
        self._floor = self._rv  # watches may resume from here on
        self._subscribers: list[Callable[[str, str, dict], None]] = []
        self._closing = False
        #: namespace -> its labels (no Namespace objects are served); Pod
        #: Security admission reads pod-security.kubernetes.io/enforce here.
        self.namespace_labels: dict[str, dict[str, str]] = {}
        #: Namespace objects (list/read/create/delete over HTTP). Objects may
        #: be created in a namespace without one, unlike on a cluster.
        self._namespaces: dict[str, dict[str, Any]] = {}
        #: (namespace, pod, command) -> (exit code, stdout, stderr): the node
        #: that runs the pods answers pods/exec (fakes/kubelet.py sets it).
        self.executor: Callable[[str, str, list[str]], tuple[int, bytes, bytes]]
        self.executor = None  # type: ignore[assignment]

    def __exit__(self, *exc: Any) -> None:
        with self._changed:
            self._closing = True  # ends every watch at its next wake-up
            self._changed.notify_all()
        super().__exit__(*exc)

    @classmethod
    def for_release(
        cls, objects: list[dict], tokens: dict[str, str], namespace: str = NAMESPACE
    ) -> KubeAPI:
        """An API whose tokens have the rendered release's RBAC.

        ``tokens`` maps the name of a ServiceAccount of ``namespace`` to its
        bearer token. Grants come from every RoleBinding (in the namespace it
        is in: the release's, or another one the chart puts notebooks in)
        and every ClusterRoleBinding (in every namespace) naming the account
        or its groups, through the Role of the binding's namespace or the
        ClusterRole they reference; only rules for the core API group
        count. ``resourceNames`` are honoured: such a rule grants its verbs
        on those named objects only, as RBAC does (so never list, watch or
        create).
        """
        everywhere: dict[str, set[tuple[str, str]]] = {}
        scoped: dict[str, set[tuple[str, str, str]]] = {}
        named: dict[str, set[tuple[str, str, str, str]]] = {}
        users: dict[str, str] = {}

        def ns_of(obj: dict) -> str:
            return (obj.get("metadata") or {}).get("namespace") or namespace

        accounts = {
            o["metadata"]["name"]
            for o in objects
            if o.get("kind") == "ServiceAccount" and ns_of(o) == namespace
        }
        roles = {
            (
                o["kind"],
                o["metadata"]["name"],
                ns_of(o) if o["kind"] == "Role" else "",
            ): o
            for o in objects
            if o.get("kind") in ("ClusterRole", "Role")
        }
        bindings = [
            o for o in objects if o.get("kind") in ("ClusterRoleBinding", "RoleBinding")
        ]
        every = set(served())
        for account, token in tokens.items():
            if account not in accounts:
                raise KeyError(f"ServiceAccount {account!r} is not in the release")
            user = f"system:serviceaccount:{namespace}:{account}"
            groups = {
                "system:serviceaccounts",
                f"system:serviceaccounts:{namespace}",
                "system:authenticated",
            }
            grants: set[tuple[str, str]] = set()
            in_one: set[tuple[str, str, str]] = set()
            by_name: set[tuple[str, str, str, str]] = set()
            for binding in bindings:
                if not any(
                    (
                        s.get("kind") == "ServiceAccount"
                        and s.get("name") == account
                        and (s.get("namespace") or ns_of(binding)) == namespace
                    )
                    or (s.get("kind") == "User" and s.get("name") == user)
                    or (s.get("kind") == "Group" and s.get("name") in groups)
                    for s in binding.get("subjects") or []
                ):
                    continue
                cluster_wide = binding["kind"] == "ClusterRoleBinding"
                where = "" if cluster_wide else ns_of(binding)
                ref = binding.get("roleRef") or {}
                role_ns = where if ref.get("kind") == "Role" else ""
                role = roles.get((ref.get("kind"), ref.get("name"), role_ns)) or {}
                for rule in role.get("rules") or []:
                    if not {"", "*"} & set(rule.get("apiGroups") or []):
                        continue
                    resources: set[str] = set()
                    for r in rule.get("resources") or []:
                        resources |= every if r == "*" else {r}
                    verbs = rule.get("verbs") or []
                    verbs = VERBS if "*" in verbs else verbs
                    names = rule.get("resourceNames") or []
                    for r in resources:
                        for v in verbs:
                            if names:
                                by_name |= {(where, r, v, n) for n in names}
                            elif where:
                                in_one.add((where, r, v))
                            else:
                                grants.add((r, v))
            everywhere[token] = grants
            scoped[token] = in_one
            named[token] = by_name
            users[token] = user
        api = cls(everywhere)
        api._scoped = scoped
        api._named = named
        api.users = users
        return api

    # -- in-process access ---------------------------------------------------

    def calls(self, method: str | None = None, path: str = "") -> list[tuple[str, str]]:
        """(method, path) of every HTTP request so far, in order; of one
        method, and only those whose path holds ``path``, if given."""
        with self._lock:
            return [
                (m, p) for m, p, _ in self.requests if method in (None, m) and path in p
            ]

    def subscribe(self, callback: Callable[[str, str, dict], None]) -> None:
        """Call ``callback(event_type, resource, object)`` after every change.

        It runs in the thread that made the change, outside the store's lock
        (so it may call back in); its exceptions go to stderr, never to the
        request that made the change."""
        self._subscribers.append(callback)

    def get(self, resource: str, namespace: str, name: str) -> dict | None:
        with self._changed:
            obj = self._store.get((resource, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(
        self, resource: str, namespace: str, label_selector: str = ""
    ) -> list[dict]:
        return self._list(resource, namespace, _Selector(resource, label_selector))[0]

    def list_all(self, resource: str) -> list[dict]:
        """Every object of ``resource``, in all namespaces."""
        return self._list(resource, None, _Selector(resource))[0]

    def create(
        self, resource: str, namespace: str, body: dict, as_client: bool = False
    ) -> dict:
        """Store a new object; Conflict if the name is taken.

        ``as_client``: as a controller's create over HTTP would be, validated
        and through admission (a 403 ApiError where a quota refuses it)."""
        return self._create(resource, namespace, body, from_http=as_client)

    def delete(self, resource: str, namespace: str, name: str) -> dict | None:
        """Remove an object at once; None if there was none."""
        try:
            return self._delete(resource, namespace, name, {})
        except NotFound:
            return None

    def update_status(
        self, resource: str, namespace: str, name: str, status: dict
    ) -> dict:
        """Replace ``.status`` (what a kubelet or controller does); NotFound if gone."""

        def replace(obj: dict) -> dict:
            obj["status"] = copy.deepcopy(status)
            return obj

        return self._update(resource, namespace, name, replace, status_only=False)

    # -- the store --------------------------------------------------------------

    def _record(self, change: _Change) -> None:
        """Keep ``change`` for watches and wake them; call with the lock held."""
        self._history.append(change)
        while len(self._history) > max(self.history_limit, 1):
            self._floor = self._history.popleft().rv
        self._changed.notify_all()

    def _publish(self, change: _Change) -> None:
        for callback in list(self._subscribers):
            try:
                callback(change.type, change.resource, copy.deepcopy(change.new))
            except Exception:
                print(f"KubeAPI: subscriber {callback!r} failed:", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)

    def _list(
        self, resource: str, namespace: str | None, selector: _Selector
    ) -> tuple[list[dict], int]:
        with self._changed:
            items = [
                copy.deepcopy(obj)
                for (r, ns, _), obj in sorted(self._store.items())
                if r == resource and namespace in (None, ns) and selector(obj)
            ]
            return items, self._rv

    def _create(
        self, resource: str, namespace: str, body: dict, from_http: bool
    ) -> dict:
        kind = RESOURCES[resource]
        obj = copy.deepcopy(body)
        metadata = obj.setdefault("metadata", {})
        if metadata.get("namespace", namespace) != namespace:
            raise ApiError(
                400,
                "the namespace of the provided object does not "
                "match the namespace sent on the request",
            )
        if from_http and obj.get("kind", kind.kind) != kind.kind:
            raise ApiError(400, f"the kind {obj['kind']!r} does not match {kind.kind}")
        if not metadata.get("name") and not metadata.get("generateName"):
            raise _invalid(
                kind.kind,
                "",
                "metadata.name: Required value: name or generateName is required",
            )
        obj["kind"], obj["apiVersion"] = kind.kind, "v1"
        metadata["namespace"] = namespace
        for field in (
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
        ):
            metadata.pop(field, None)
        if resource == "secrets":
            _secret_data(obj, check_base64=from_http)
        if kind.initial_status is not None and (from_http or "status" not in obj):
            obj["status"] = copy.deepcopy(kind.initial_status)
        with self._changed:
            if not metadata.get("name"):
                for _ in range(10):  # the API server retries a few times too
                    metadata["name"] = metadata["generateName"] + "".join(
                        random.choices(_NAME_SUFFIX, k=5)
                    )
                    if (resource, namespace, metadata["name"]) not in self._store:
                        break
            name = metadata["name"]
            if from_http:  # admission runs before storage finds the name taken
                self._admit(resource, namespace, obj)
            if (resource, namespace, name) in self._store:
                raise Conflict(
                    409,
                    f'{resource} "{name}" already exists',
                    "AlreadyExists",
                    {"name": name, "kind": resource},
                )
            self._rv += 1
            metadata.update(
                uid=str(uuid.uuid4()),
                creationTimestamp=_now(),
                resourceVersion=str(self._rv),
            )
            self._store[(resource, namespace, name)] = obj
            change = _Change(
                self._rv, "ADDED", resource, namespace, None, copy.deepcopy(obj)
            )
            self._record(change)
            changes = [change, *self._count_quotas(resource, namespace)]
        for each in changes:
            self._publish(each)
        return copy.deepcopy(self._store.get((resource, namespace, name), obj))

    def _delete(self, resource: str, namespace: str, name: str, options: dict) -> dict:
        preconditions = options.get("preconditions") or {}
        with self._changed:
            obj = self._store.get((resource, namespace, name))
            if obj is None:
                raise _not_found(resource, name)
            metadata = obj["metadata"]
            for field in ("uid", "resourceVersion"):
                wanted = preconditions.get(field)
                if wanted not in (None, metadata[field]):
                    raise Conflict(
                        409,
                        f"Precondition failed: {field}: {wanted}, "
                        f"Object{field[0].upper()}{field[1:]}: "
                        f"{metadata[field]}",
                    )
            del self._store[(resource, namespace, name)]
            self._rv += 1
            gone = copy.deepcopy(obj)
            gone["metadata"]["resourceVersion"] = str(self._rv)
            change = _Change(self._rv, "DELETED", resource, namespace, obj, gone)
            self._record(change)
            changes = [change, *self._count_quotas(resource, namespace)]
        for each in changes:
            self._publish(each)
        self._collect_garbage(
            namespace, metadata["uid"], options.get("propagationPolicy") == "Orphan"
        )
        return copy.deepcopy(obj)

    def _collect_garbage(self, namespace: str, uid: str, orphan: bool) -> None:
        """What the garbage collector does after an owner is deleted: each
        dependent whose owners are all gone is deleted (then its own
        dependents); with propagationPolicy Orphan, dependents only lose
        the reference. Owners of kinds not kept here (a Node, a ReplicaSet)
        count as present."""
        with self._changed:
            present = {obj["metadata"]["uid"] for obj in self._store.values()}
            dependents = [
                (resource, obj)
                for (resource, ns, _), obj in self._store.items()
                if ns == namespace and uid in {r.get("uid") for r in _owners(obj)}
            ]
        kinds = {kind.kind for kind in RESOURCES.values()}
        for resource, obj in dependents:
            name = obj["metadata"]["name"]
            others = [r for r in _owners(obj) if r.get("uid") != uid]
            alive = any(
                r.get("uid") in present or r.get("kind") not in kinds for r in others
            )
            with contextlib.suppress(NotFound):
                if orphan or alive:
                    self._update(
                        resource,
                        namespace,
                        name,
                        lambda o: _without_owner(o, uid),
                        status_only=False,
                    )
                else:
                    self._delete(resource, namespace, name, {})

    def _update(
        self,
        resource: str,
        namespace: str,
        name: str,
        compute: Callable[[dict], dict],
        status_only: bool,
        from_http: bool = False,
    ) -> dict:
        """Replace an object with ``compute(copy of it)``.

        ``status_only`` (the /status subresource): only .status changes; an
        HTTP write to the main resource of a kind with a status subresource
        keeps .status, as on the API server. An unchanged object keeps its
        resourceVersion and makes no event, as there too."""
        kind = RESOURCES[resource]
        with self._changed:
            old = self._store.get((resource, namespace, name))
            if old is None:
                raise _not_found(resource, name)
            try:
                new = compute(copy.deepcopy(old))
            except ApiError:
                raise
            except (KeyError, IndexError, ValueError, TypeError) as error:
                raise _invalid(
                    kind.kind, name, f"the patch does not apply: {error}"
                ) from None
            if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
                raise ApiError(400, "the object has no metadata")
            metadata, before = new["metadata"], old["metadata"]
            if metadata.get("name", name) != name:
                raise ApiError(
                    400,
                    f"the name of the object ({metadata['name']}) "
                    f"does not match the name on the URL ({name})",
                )
            if metadata.get("namespace", namespace) != namespace:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not "
                    "match the namespace sent on the request",
                )
            if metadata.get("uid", before["uid"]) != before["uid"]:
                raise _invalid(kind.kind, name, "metadata.uid: field is immutable")
            wanted = metadata.get("resourceVersion")
            if wanted not in (None, "", before["resourceVersion"]):
                raise Conflict(
                    409,
                    f"Operation cannot be fulfilled on {resource} "
                    f'"{name}": the object has been modified; please apply '
                    "your changes to the latest version and try again",
                    "Conflict",
                    {"name": name, "kind": resource},
                )
            if status_only:
                new = {**copy.deepcopy(old), "status": new.get("status")}
                if new["status"] is None:
                    del new["status"]
            elif kind.initial_status is not None and from_http:
                new["status"] = copy.deepcopy(old.get("status"))
                if new["status"] is None:
                    del new["status"]
            new["kind"], new["apiVersion"] = kind.kind, "v1"
            metadata = new["metadata"]
            metadata.update(
                name=name,
                namespace=namespace,
                uid=before["uid"],
                creationTimestamp=before["creationTimestamp"],
                resourceVersion=before["resourceVersion"],
            )
            if resource == "secrets":
                _secret_data(new, check_base64=from_http)
            if from_http:
                _validate(resource, new)
            if new == old:
                return copy.deepcopy(old)
            self._rv += 1
            metadata["resourceVersion"] = str(self._rv)
            self._store[(resource, namespace, name)] = new
            change = _Change(
                self._rv,
                "MODIFIED",
                resource,
                namespace,
                copy.deepcopy(old),
                copy.deepcopy(new),
            )
            self._record(change)
            changes = [change, *self._count_quotas(resource, namespace)]
        for each in changes:
            self._publish(each)
        return copy.deepcopy(new)

    # -- admission ----------------------------------------------------------------

    def _held(self, namespace: str) -> list[tuple[str, dict]]:
        """(resource, object) of everything ``namespace`` holds; lock held."""
        return [(r, obj) for (r, ns, _), obj in self._store.items() if ns == namespace]

    def _of_kind(self, resource: str, namespace: str) -> list[dict]:
        return [obj for r, obj in self._held(namespace) if r == resource]

    def _admit(self, resource: str, namespace: str, obj: dict) -> None:
        """Defaults, validation and admission of an HTTP create, in the API
        server's order (fakes/admission.py); lock held."""
        try:
            if resource == "pods":
                admission.default_requests_from_limits(obj)
                admission.apply_limit_ranges(
                    obj, self._of_kind("limitranges", namespace)
                )
            _validate(resource, obj)
            if resource == "pods":
                labels = self.namespace_labels.get(namespace, {})
                refused = pod_security.refusal(obj, labels)
                if refused:
                    raise admission.Refused(refused)
            admission.check_quotas(
                resource,
                obj,
                self._of_kind("resourcequotas", namespace),
                self._held(namespace),
            )
        except admission.Refused as refusal:
            name = obj["metadata"]["name"]
            raise ApiError(
                403,
                f'{resource} "{name}" is forbidden: {refusal}',
                "Forbidden",
                {"name": name, "kind": resource},
            ) from None
        except ValueError as error:  # a quantity that does not parse
            raise _invalid(
                RESOURCES[resource].kind, obj["metadata"]["name"], str(error)
            ) from None

    def _count_quotas(self, resource: str, namespace: str) -> list[_Change]:
        """Bring the namespace's quotas' status.used up to date after a
        change to ``resource`` (the quota controller's job); lock held."""
        changes: list[_Change] = []
        quotas = self._of_kind("resourcequotas", namespace)
        held = self._held(namespace) if quotas else []
        for quota in quotas:
            try:
                status = admission.quota_status(quota, held)
            except ValueError:
                continue  # a hand-made quota with a bad amount: left as it is
            if quota.get("status") == status:
                continue
            old = copy.deepcopy(quota)
            self._rv += 1
            quota["status"] = status
            quota["metadata"]["resourceVersion"] = str(self._rv)
            change = _Change(
                self._rv,
                "MODIFIED",
                "resourcequotas",
                namespace,
                old,
                copy.deepcopy(quota),
            )
            self._record(change)
            changes.append(change)
        return changes

    # -- HTTP -------------------------------------------------------------------

    def respond(self, request: _Handler, method: str) -> None:
        try:
            self._respond(request, method)
        except ApiError as error:
            self._send_json(request, error.code, error.status())
        except (BrokenPipeError, ConnectionResetError):
            request.close_connection = True
        except Exception:  # a bug here: say so, as an API server's 500 would
            traceback.print_exc(file=sys.stderr)
            self._send_json(request, 500, _status(500, "InternalError", "stand-in bug"))

    @staticmethod
    def _send_json(request: _Handler, code: int, body: Any) -> None:
        request._send(code, json.dumps(body).encode(), "application/json")

    def _respond(self, request: _Handler, method: str) -> None:
        url = urlsplit(request.path)
        params = {
            k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()
        }
        path = url.path.rstrip("/") or "/"
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if path == "/version" and method == "GET":  # public, as on a cluster
            self._send_json(request, 200, self._version())
            return
        authorization = request.headers.get("Authorization", "")
        token = authorization[7:].strip() if authorization.startswith("Bearer ") else ""
        if not token or (
            self.permissions is not None and token not in self.permissions
        ):
            raise ApiError(401, "Unauthorized")
        if (scoped := _NAMESPACE_PATH.fullmatch(path)) is not None:
            self._namespace_request(request, method, token, scoped["name"] or "", raw)
            return
        across = _ALL_PATH.fullmatch(path)
        if across is not None and across["resource"] in RESOURCES:
            if method != "GET":
                raise ApiError(405, f"the server does not allow {method} on {path}")
            watching = params.get("watch", "") in ("1", "t", "T", "true", "True")
            verb = "watch" if watching else "list"
            self._authorize(token, "", across["resource"], "", verb, "")
            self._dispatch(
                request, verb, None, across["resource"], "", "", params, None
            )
            return
        match = _PATH.fullmatch(path)
        if match and (match["resource"], match["sub"]) == ("pods", "exec"):
            self._authorize(token, match["ns"], "pods", "exec", "create", match["name"])
            command = parse_qs(url.query).get("command") or []
            self._exec(request, match["ns"], match["name"], command)
            return
        discovery = self._discovery(path) if method == "GET" else None
        if discovery is None and (
            match is None
            or match["resource"] not in RESOURCES
            or (
                match["sub"]
                and (
                    match["sub"] != "status"
                    or RESOURCES[match["resource"]].initial_status is None
                )
            )
        ):
            raise ApiError(404, "the server could not find the requested resource")
        verb = ""
        if match is not None and discovery is None:
            namespace, resource = match["ns"], match["resource"]
            name, sub = match["name"] or "", match["sub"] or ""
            watching = params.get("watch", "") in (
                "1",
                "t",
                "T",
                "true",
                "True",
                "TRUE",
            )
            verb = {
                ("GET", True): "get",
                ("PUT", True): "update",
                ("PATCH", True): "patch",
                ("DELETE", True): "delete",
                ("POST", False): "create",
                ("GET", False): "watch" if watching else "list",
            }.get((method, bool(name)), "")
            if not verb:
                raise ApiError(
                    405,
                    f"the server does not allow this method on the "
                    f"requested resource ({method} {path})",
                )
            self._authorize(token, namespace, resource, sub, verb, name)
        with self._changed:
            fault = self.fail_next.pop(0) if self.fail_next else None
            aimed = next(
                (f for f in self.faults if (f.verb, f.resource) == (verb, resource)),
                None,
            )
            if aimed is not None:
                self.faults.remove(aimed)
        if fault is not None:
            raise ApiError(fault, f"injected fault ({fault})")
        if aimed is not None:
            time.sleep(min(aimed.hang, 60.0))  # a call that hangs, then answers
            if aimed.status:
                raise ApiError(aimed.status, f"injected fault ({aimed.status})")
        if discovery is not None:
            self._send_json(request, 200, discovery)
            return
        if "dryRun" in params:
            raise ApiError(400, "dryRun is not served by this stand-in")
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError as error:
            raise ApiError(400, f"the request body is not JSON: {error}") from None
        self._dispatch(request, verb, namespace, resource, name, sub, params, body)

    def _exec(
        self, request: _Handler, namespace: str, name: str, command: list[str]
    ) -> None:
        """pods/exec over a WebSocket (channel.k8s.io v4/v5): the node runs
        ``command`` (``executor``, set by fakes/kubelet.py) to its end; its
        stdout, stderr and exit status go out on channels 1, 2 and 3."""
        key = request.headers.get("Sec-WebSocket-Key", "")
        if not key or request.headers.get("Upgrade", "").lower() != "websocket":
            raise ApiError(400, "Upgrade request required")
        if self.get("pods", namespace, name) is None:
            raise _not_found("pods", name)
        if self.executor is None or not command:
            raise ApiError(400, "no node runs this pod's containers")
        offered = [
            p.strip()
            for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
        ]
        protocol = next(
            (p for p in ("v5.channel.k8s.io", "v4.channel.k8s.io") if p in offered), ""
        )
        try:
            code, out, err = self.executor(namespace, name, command)
        except Exception as error:  # the container cannot run it
            code, out, err = 126, b"", str(error).encode()
        if code == 0:
            status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        else:
            status = {
                "metadata": {},
                "status": "Failure",
                "message": f"command terminated with non-zero exit code: {code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
            }
        accept = base64.b64encode(
            hashlib.sha1(f"{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11".encode()).digest()
        ).decode()
        request.send_response(101, "Switching Protocols")
        request.send_header("Upgrade", "websocket")
        request.send_header("Connection", "Upgrade")
        request.send_header("Sec-WebSocket-Accept", accept)
        if protocol:
            request.send_header("Sec-WebSocket-Protocol", protocol)
        request.end_headers()
        for channel, data in ((1, out), (2, err), (3, json.dumps(status).encode())):
            if data:
                request.wfile.write(_ws_frame(0x2, bytes([channel]) + data))
        request.wfile.write(_ws_frame(0x8, (1000).to_bytes(2, "big")))
        request.wfile.flush()
        request.close_connection = True

    def _namespace_request(
        self, request: _Handler, method: str, token: str, name: str, raw: bytes
    ) -> None:
        """Namespace objects: list, read, create, delete (which deletes
        everything in the namespace first, at once)."""
        verb = {
            ("GET", False): "list",
            ("POST", False): "create",
            ("GET", True): "get",
            ("DELETE", True): "delete",
        }.get((method, bool(name)))
        if verb is None:
            raise ApiError(405, f"the server does not allow {method} on namespaces")
        self._authorize(token, "", "namespaces", "", verb, name)
        if verb == "list":
            with self._changed:
                items = [copy.deepcopy(n) for _, n in sorted(self._namespaces.items())]
                rv = self._rv
            body = {
                "kind": "NamespaceList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": str(rv)},
                "items": items,
            }
            self._send_json(request, 200, body)
        elif verb == "get":
            with self._changed:
                found = copy.deepcopy(self._namespaces.get(name))
            if found is None:
                raise _not_found("namespaces", name)
            self._send_json(request, 200, found)
        elif verb == "create":
            try:
                body = json.loads(raw)
                wanted = body["metadata"]["name"]
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "a Namespace needs metadata.name") from None
            labels = body["metadata"].get("labels") or {}
            self._send_json(request, 201, self.create_namespace(wanted, labels))
        else:
            self._send_json(request, 200, self.delete_namespace(name))

    def create_namespace(self, name: str, labels: dict[str, str]) -> dict:
        """A Namespace object (Active); Conflict if it exists."""
        if not _DNS1035.fullmatch(name) or len(name) > 63:
            raise _invalid("Namespace", name, f'metadata.name: Invalid value: "{name}"')
        with self._changed:
            if name in self._namespaces:
                raise Conflict(
                    409,
                    f'namespaces "{name}" already exists',
                    "AlreadyExists",
                    {"name": name, "kind": "namespaces"},
                )
            self._rv += 1
            obj = {
                "kind": "Namespace",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "uid": str(uuid.uuid4()),
                    "creationTimestamp": _now(),
                    "resourceVersion": str(self._rv),
                    "labels": {"kubernetes.io/metadata.name": name, **labels},
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
            self._namespaces[name] = obj
            self.namespace_labels.setdefault(name, {}).update(labels)
            return copy.deepcopy(obj)

    def delete_namespace(self, name: str) -> dict:
        """Delete everything in the namespace, then the namespace (the
        namespace controller's work, done before the call returns)."""
        with self._changed:
            obj = self._namespaces.get(name)
            if obj is None:
                raise _not_found("namespaces", name)
            held = [(r, n) for (r, ns, n) in self._store if ns == name]
        for resource, each in held:
            with contextlib.suppress(NotFound):  # collected as a dependent
                self._delete(resource, name, each, {})
        with self._changed:
            self._namespaces.pop(name, None)
            self.namespace_labels.pop(name, None)
        gone = copy.deepcopy(obj)
        gone["status"]["phase"] = "Terminating"
        gone["metadata"]["deletionTimestamp"] = _now()
        return gone

    def _authorize(
        self, token: str, namespace: str, resource: str, sub: str, verb: str, name: str
    ) -> None:
        """403 with the API server's wording unless the token's grants allow it."""
        key = f"{resource}/{sub}" if sub else resource
        if self.permissions is None or (key, verb) in self.permissions[token]:
            return
        if namespace and (namespace, key, verb) in self._scoped.get(token, set()):
            return
        named = self._named.get(token, set())
        if name and {(namespace, key, verb, name), ("", key, verb, name)} & named:
            return
        user = self.users.get(token, "unnamed")
        subject = f'{resource} "{name}"' if name else resource
        raise ApiError(
            403,
            f'{subject} is forbidden: User "{user}" cannot {verb} resource "{key}" '
            f'in API group "" in the namespace "{namespace}"',
            "Forbidden",
            {"name": name, "kind": resource} if name else {"kind": resource},
        )

    def _dispatch(
        self,
        request: _Handler,
        verb: str,
        namespace: str | None,
        resource: str,
        name: str,
        sub: str,
        params: dict[str, str],
        body: Any,
    ) -> None:
        kind = RESOURCES[resource]
        if verb == "get":
            obj = self.get(resource, namespace, name)
            if obj is None:
                raise _not_found(resource, name)
            self._send_json(request, 200, obj)
        elif verb in ("list", "watch"):
            selector = _Selector(
                resource,
                params.get("labelSelector", ""),
                params.get("fieldSelector", ""),
            )
            if verb == "watch":
                self._watch(request, resource, namespace, selector, params)
                return
            items, rv = self._list(resource, namespace, selector)
            self._send_json(
                request,
                200,
                {
                    "kind": f"{kind.kind}List",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(rv)},
                    "items": items,
                },
            )
        elif verb == "create":
            if not isinstance(body, dict):
                raise ApiError(400, "the request body must be an object")
            time.sleep(self.create_delay)
            self._send_json(
                request, 201, self._create(resource, namespace, body, from_http=True)
            )
        elif verb == "delete":
            obj = self._delete(resource, namespace, name, body or {})
            if kind.returns_object:
                self._send_json(request, 200, obj)
            else:
                self._send_json(
                    request,
                    200,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Success",
                        "details": {
                            "name": name,
                            "kind": resource,
                            "uid": obj["metadata"]["uid"],
                        },
                    },
                )
        elif verb == "update":
            if not isinstance(body, dict):
                raise ApiError(400, "the request body must be an object")
            obj = self._update(
                resource,
                namespace,
                name,
                lambda _: body,
                status_only=bool(sub),
                from_http=True,
            )
            self._send_json(request, 200, obj)
        else:  # patch
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            patch = self._patcher(content_type, body)
            obj = self._update(
                resource, namespace, name, patch, status_only=bool(sub), from_http=True
            )
            self._send_json(request, 200, obj)

    @staticmethod
    def _patcher(content_type: str, body: Any) -> Callable[[dict], dict]:
        if content_type in (
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        ):
            if not isinstance(body, dict):
                raise ApiError(400, "a merge patch must be a JSON object")
            return lambda obj: merge_patch(obj, body)
        if content_type == "application/json-patch+json":
            if not isinstance(body, list):
                raise ApiError(400, "a JSON patch must be a list of operations")
            return lambda obj: json_patch(obj, body)
        raise ApiError(
            415,
            "the body of the request was in an unknown format - "
            "accepted media types include: application/json-patch+json, "
            "application/merge-patch+json, "
            "application/strategic-merge-patch+json",
        )

    def _watch(
        self,
        request: _Handler,
        resource: str,
        namespace: str | None,
        selector: _Selector,
        params: dict[str, str],
    ) -> None:
        """Stream events as chunked newline-delimited JSON until the timeout."""
        try:
            seconds = float(params.get("timeoutSeconds") or MAX_WATCH_SECONDS)
        except ValueError:
            raise ApiError(400, "timeoutSeconds must be a number") from None
        since = params.get("resourceVersion", "")
        if since not in ("", "0") and not since.isdigit():
            raise ApiError(400, f'resourceVersion: Invalid value: "{since}"')
        deadline = time.monotonic() + min(max(seconds, 0), MAX_WATCH_SECONDS)
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        with self._changed:
            if since in ("", "0"):
                first = [
                    {"type": "ADDED", "object": copy.deepcopy(obj)}
                    for (r, ns, _), obj in sorted(self._store.items())
                    if r == resource and namespace in (None, ns) and selector(obj)
                ]
                cursor = self._rv
            else:
                cursor, first = int(since), []
        for event in first:
            self._chunk(request, event)
        for _ in range(1_000_000):  # the deadline ends it; this only bounds the loop
            with self._changed:
                if cursor < self._floor:  # too old, or fell behind the history
                    self._chunk(
                        request,
                        {
                            "type": "ERROR",
                            "object": _status(
                                410,
                                "Expired",
                                f"too old resource version: {cursor} ({self._floor})",
                            ),
                        },
                    )
                    break
                changes = [c for c in self._history if c.rv > cursor]
                if not changes and not self._closing:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(min(left, 0.5))
                    changes = [c for c in self._history if c.rv > cursor]
                closing = self._closing
            for change in changes:
                cursor = change.rv
                event = self._event_for(change, resource, namespace, selector)
                if event is not None:
                    self._chunk(request, event)
            if closing or time.monotonic() >= deadline or self._client_gone(request):
                break
        request.wfile.write(b"0\r\n\r\n")

    @staticmethod
    def _event_for(
        change: _Change, resource: str, namespace: str | None, selector: _Selector
    ) -> dict | None:
        """What a watch with this selector sees of a change: an object that
        leaves the selection is DELETED for it, one that enters is ADDED."""
        if change.resource != resource or namespace not in (None, change.namespace):
            return None
        was = change.old is not None and selector(change.old)
        now = change.type != "DELETED" and selector(change.new)
        if was and now:
            kind = change.type
        elif was:
            kind = "DELETED"
        elif now:
            kind = "ADDED"
        else:
            return None
        return {"type": kind, "object": change.new}

    @staticmethod
    def _chunk(request: _Handler, event: dict) -> None:
        data = json.dumps(event).encode() + b"\n"
        request.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        request.wfile.flush()

    @staticmethod
    def _client_gone(request: _Handler) -> bool:
        """The watcher hung up (the socket reads EOF): stop streaming to it."""
        try:
            readable, _, _ = select.select([request.connection], [], [], 0)
            return bool(readable) and request.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    # -- discovery ----------------------------------------------------------------

    @staticmethod
    def _version() -> dict[str, str]:
        major, minor = KUBE_VERSION.split(".")
        return {
            "major": major,
            "minor": minor,
            "gitVersion": f"v{major}.{minor}.0",
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "",
            "goVersion": "",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def _discovery(self, path: str) -> dict[str, Any] | None:
        if path == "/api":
            host = self.url.split("//", 1)[1]
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": host}
                ],
            }
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
        if path != "/api/v1":
            return None
        resources: list[dict[str, Any]] = []
        for name, kind in RESOURCES.items():
            resources.append(
                {
                    "name": name,
                    "singularName": kind.singular,
                    "namespaced": True,
                    "kind": kind.kind,
                    "verbs": sorted(VERBS),
                    "shortNames": list(kind.short_names),
                }
            )
            if kind.initial_status is not None:
                resources.append(
                    {
                        "name": f"{name}/status",
                        "singularName": "",
                        "namespaced": True,
                        "kind": kind.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        resources.append(
            {
                "name": "namespaces",
                "singularName": "namespace",
                "namespaced": False,
                "kind": "Namespace",
                "verbs": ["create", "delete", "get", "list"],
                "shortNames": ["ns"],
            }
        )
        return {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources}


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked WebSocket frame, as a server sends it (RFC 6455)."""
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, size])
    elif size < 1 << 16:
        head = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
    return head + payload


def _not_found(resource: str, name: str) -> NotFound:
    """The API's 404 for an object that does not exist."""
    return NotFound(
        404,
        f'{resource} "{name}" not found',
        "NotFound",
        {"name": name, "kind": resource},
    )
