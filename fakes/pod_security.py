"""Pod Security admission as the API server does it, for the loopback cluster.

A namespace's ``pod-security.kubernetes.io/enforce`` label (privileged,
baseline or restricted; privileged when unset) decides which Pod Security
Standards a new pod must meet; a pod that violates one is refused with the
API server's words: ``violates PodSecurity "baseline:latest": privileged
(container "dind" must not set securityContext.privileged=true), ...``,
the checks in the order of their identifiers, as the pod-security-admission
library orders them.

Checked (the fields this release's pods and KubeSpawner's use): host
namespaces, privileged containers, added capabilities, hostPath volumes,
host ports, seccomp; for restricted also volume types,
allowPrivilegeEscalation, runAsNonRoot, runAsUser=0, capabilities dropped,
seccomp set. Not checked: AppArmor, SELinux options, procMount, sysctls,
Windows host processes, and the audit and warn labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LABEL = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
#: Capabilities baseline lets a container add (Kubernetes' default set).
_BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
_RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}

Check = Callable[[dict[str, Any]], str]


def _containers(pod: dict) -> list[dict]:
    spec = pod.get("spec") or {}
    return [
        *(spec.get("initContainers") or []),
        *(spec.get("containers") or []),
        *(spec.get("ephemeralContainers") or []),
    ]


def _context(container: dict) -> dict:
    return container.get("securityContext") or {}


def _pod_context(pod: dict) -> dict:
    return (pod.get("spec") or {}).get("securityContext") or {}


def _plural(one: str, many: str, count: int) -> str:
    return one if count == 1 else many


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _containers_that(pod: dict, bad: Callable[[dict], bool]) -> list[str]:
    return [c.get("name", "") for c in _containers(pod) if bad(c)]


def _named(kind: str, names: list[str]) -> str:
    return f"{_plural(kind, kind + 's', len(names))} {_quoted(names)}"


def _host_namespaces(pod: dict) -> str:
    spec = pod.get("spec") or {}
    used = [
        f"{field}=true"
        for field in ("hostNetwork", "hostPID", "hostIPC")
        if spec.get(field)
    ]
    return ", ".join(used)


def _privileged(pod: dict) -> str:
    bad = _containers_that(pod, lambda c: _context(c).get("privileged") is True)
    if not bad:
        return ""
    return f"{_named('container', bad)} must not set securityContext.privileged=true"


def _added(container: dict) -> list[str]:
    return list((_context(container).get("capabilities") or {}).get("add") or [])


def _capabilities_baseline(pod: dict) -> str:
    bad, extra = [], []
    for container in _containers(pod):
        more = [c for c in _added(container) if c not in _BASELINE_CAPABILITIES]
        if more:
            bad.append(container.get("name", ""))
            extra += [c for c in more if c not in extra]
    if not bad:
        return ""
    return (
        f"{_named('container', bad)} must not include {_quoted(extra)} in "
        "securityContext.capabilities.add"
    )


def _host_path(pod: dict) -> str:
    volumes = [
        v.get("name", "")
        for v in (pod.get("spec") or {}).get("volumes") or []
        if "hostPath" in v
    ]
    return _named("volume", volumes) if volumes else ""


def _host_ports(pod: dict) -> str:
    bad, ports = [], []
    for container in _containers(pod):
        used = [
            str(p["hostPort"])
            for p in container.get("ports") or []
            if p.get("hostPort")
        ]
        if used:
            bad.append(container.get("name", ""))
            ports += used
    if not bad:
        return ""
    many = len(bad) > 1
    return (
        f"{_named('container', bad)} {'use' if many else 'uses'} "
        f"{_plural('hostPort', 'hostPorts', len(ports))} {', '.join(ports)}"
    )


def _seccomp_type(context: dict) -> str | None:
    return (context.get("seccompProfile") or {}).get("type")


def _seccomp_baseline(pod: dict) -> str:
    found = []
    if _seccomp_type(_pod_context(pod)) == "Unconfined":
        found.append(
            'pod must not set securityContext.seccompProfile.type to "Unconfined"'
        )
    bad = _containers_that(pod, lambda c: _seccomp_type(_context(c)) == "Unconfined")
    if bad:
        found.append(
            f"{_named('container', bad)} must not set "
            'securityContext.seccompProfile.type to "Unconfined"'
        )
    return "; ".join(found)


def _restricted_volumes(pod: dict) -> str:
    bad, kinds = [], []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        kind = next((k for k in volume if k != "name"), "")
        if kind not in _RESTRICTED_VOLUMES:
            bad.append(volume.get("name", ""))
            kinds += [kind] if kind not in kinds else []
    if not bad:
        return ""
    many = len(bad) > 1
    return (
        f"{_named('volume', bad)} {'use' if many else 'uses'} restricted volume "
        f"{_plural('type', 'types', len(kinds))} {_quoted(kinds)}"
    )


def _privilege_escalation(pod: dict) -> str:
    bad = _containers_that(
        pod, lambda c: _context(c).get("allowPrivilegeEscalation") is not False
    )
    if not bad:
        return ""
    return (
        f"{_named('container', bad)} must set "
        "securityContext.allowPrivilegeEscalation=false"
    )


def _capabilities_restricted(pod: dict) -> str:
    undropped = _containers_that(
        pod,
        lambda c: (
            "ALL" not in ((_context(c).get("capabilities") or {}).get("drop") or [])
        ),
    )
    bad, extra = [], []
    for container in _containers(pod):
        more = [c for c in _added(container) if c != "NET_BIND_SERVICE"]
        if more:
            bad.append(container.get("name", ""))
            extra += [c for c in more if c not in extra]
    found = []
    if undropped:
        found.append(
            f"{_named('container', undropped)} must set "
            'securityContext.capabilities.drop=["ALL"]'
        )
    if bad:
        found.append(
            f"{_named('container', bad)} must not include {_quoted(extra)} in "
            "securityContext.capabilities.add"
        )
    return "; ".join(found)


def _run_as_non_root(pod: dict) -> str:
    pod_value = _pod_context(pod).get("runAsNonRoot")
    found = []
    if pod_value is False:
        found.append("pod must not set securityContext.runAsNonRoot=false")
    explicit_false = _containers_that(
        pod, lambda c: _context(c).get("runAsNonRoot") is False
    )
    if explicit_false:
        found.append(
            f"{_named('container', explicit_false)} must not set "
            "securityContext.runAsNonRoot=false"
        )
    if pod_value is not True:
        unset = _containers_that(pod, lambda c: _context(c).get("runAsNonRoot") is None)
        if unset:
            found.append(
                f"pod or {_named('container', unset)} must set "
                "securityContext.runAsNonRoot=true"
            )
    return "; ".join(found)


def _run_as_user(pod: dict) -> str:
    found = []
    if _pod_context(pod).get("runAsUser") == 0:
        found.append("pod must not set runAsUser=0")
    bad = _containers_that(pod, lambda c: _context(c).get("runAsUser") == 0)
    if bad:
        found.append(f"{_named('container', bad)} must not set runAsUser=0")
    return "; ".join(found)


def _seccomp_restricted(pod: dict) -> str:
    allowed = ("RuntimeDefault", "Localhost")
    pod_type = _seccomp_type(_pod_context(pod))
    found = []
    if pod_type is not None and pod_type not in allowed:
        found.append(
            f'pod must not set securityContext.seccompProfile.type to "{pod_type}"'
        )
    for container in _containers(pod):
        own = _seccomp_type(_context(container))
        if own is not None and own not in allowed:
            found.append(
                f'container "{container.get("name", "")}" must not set '
                f'securityContext.seccompProfile.type to "{own}"'
            )
    if pod_type is None:
        unset = _containers_that(pod, lambda c: _seccomp_type(_context(c)) is None)
        if unset:
            found.append(
                f"pod or {_named('container', unset)} must set "
                'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
            )
    return "; ".join(found)


#: (check identifier, level, name in the message, check, the baseline check
#: it replaces), sorted by identifier as the library reports them.
# fmt: off
_CHECKS: list[tuple[str, str, str, Check, str]] = sorted([
    ("allowPrivilegeEscalation", "restricted", "allowPrivilegeEscalation != false",
     _privilege_escalation, ""),
    ("capabilities_baseline", "baseline", "non-default capabilities",
     _capabilities_baseline, ""),
    ("capabilities_restricted", "restricted", "unrestricted capabilities",
     _capabilities_restricted, "capabilities_baseline"),
    ("hostNamespaces", "baseline", "host namespaces", _host_namespaces, ""),
    ("hostPathVolumes", "baseline", "hostPath volumes", _host_path, ""),
    ("hostPorts", "baseline", "hostPort", _host_ports, ""),
    ("privileged", "baseline", "privileged", _privileged, ""),
    ("restrictedVolumes", "restricted", "restricted volume types",
     _restricted_volumes, "hostPathVolumes"),
    ("runAsNonRoot", "restricted", "runAsNonRoot != true", _run_as_non_root, ""),
    ("runAsUser", "restricted", "runAsUser=0", _run_as_user, ""),
    ("seccompProfile_baseline", "baseline", "seccompProfile", _seccomp_baseline, ""),
    ("seccompProfile_restricted", "restricted", "seccompProfile",
     _seccomp_restricted, "seccompProfile_baseline"),
])
# fmt: on


def _failed(pod: dict[str, Any], level: str) -> list[tuple[str, str]]:
    """(reason, detail) of each check ``pod`` fails at ``level``, in order."""
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r}")
    wanted = LEVELS[: LEVELS.index(level) + 1]
    checks = [c for c in _CHECKS if c[1] in wanted]
    replaced = {c[4] for c in checks if c[4]}
    found = []
    for ident, _, name, check, _ in checks:
        if ident in replaced:
            continue
        detail = check(pod)
        if detail:
            found.append((name, detail))
    return found


def violations(pod: dict[str, Any], level: str) -> str:
    """The API server's list of what ``pod`` violates at ``level``, or ''."""
    return ", ".join(f"{name} ({detail})" for name, detail in _failed(pod, level))


def reasons(pod: dict[str, Any], level: str) -> str:
    """The reasons alone, as the API server's warnings name them when a
    namespace label would make ``pod`` unfit (``kubectl label`` answers
    ``POD: privileged, hostPath volumes``), or ''."""
    return ", ".join(name for name, _ in _failed(pod, level))


def refusal(pod: dict[str, Any], namespace_labels: dict[str, str]) -> str:
    """The refusal of ``pod`` in a namespace with these labels, or ''."""
    level = namespace_labels.get(LABEL, "privileged")
    found = violations(pod, level)
    return f'violates PodSecurity "{level}:latest": {found}' if found else ""
