"""``python -m offline preview``: the Pod and PVC a launch would get, offline.

Answers "why did my notebook get 8 CPUs?" with what the hub itself would
do: the values file is rendered with the chart (the binderhub chart and z2jh
included), z2jh's own jupyterhub_config.py runs on the rendered hub Secret
(offline/hub_pod.py), a spawner is made as the hub makes one, our hook decides
the launch, and the binderhub chart's BinderSpawner starts it up to the
point where KubeSpawner would call the cluster. The Pod then goes through
the admission of a freshly installed release's namespace on the loopback
cluster (fakes/workloads.py): the values file's ResourceQuota and
LimitRange, and the Pod Security level ``--pod-security`` names, so a Pod
the API server would refuse is refused with its words, and the Pod printed
has what a LimitRange fills in. Nothing is created: the SSH key Secret is
not touched, and with ``--resources`` the repository is not fetched either.
Needs a clone of this project (`make setup`, `make deps`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import re
import stat
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

import yaml

from offline.secret_values import RedactedLines, redacted
from offline.values_code import chart_code_only, note
from pyconfig.admin.launch_request import SpecError, user_options
from pyconfig.hub.repo_files import RepoFileFetcher


def server_name(options: dict[str, Any]) -> str:
    """A server name like BinderHub's: the repository's name and a suffix."""
    repo = options["repo_url"].rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return re.sub(r"[^a-z0-9-]", "-", repo.lower())[:30] + "-preview"


async def launch(
    config: Any,
    pod: Any,
    options: dict[str, Any],
    user: str,
    resources: bytes | None,
    server: str = "",
    offline: bool = False,
    kube: Any = None,
) -> dict[str, Any]:
    """The Pod and PVC manifests (API field names) a launch gets under ``config``.

    JupyterHub's own spawn runs (offline/hub_pod.launch) against ``kube``, a
    throwaway Kubernetes API on loopback (an empty one if None), so the
    hook's SSH key Secret is made there and nothing reaches a real cluster.
    With ``resources``, every repository's `.resources` is that file, from a
    loopback raw-file server; ``offline`` without one: no repository has the
    file (that server answers 404), so nothing is fetched either.
    """
    from fakes.kube_api import KubeAPI
    from fakes.standins import RawFileServer
    from offline.hub_pod import launch as hub_launch
    from offline.hub_pod import serialized

    config = copy.deepcopy(config)  # a Config's copy shares its sections
    with contextlib.ExitStack() as stack:
        if kube is None:
            kube = stack.enter_context(KubeAPI())
        raw = stack.enter_context(RawFileServer())
        config.KubeSpawner.k8s_api_host = kube.url
        if resources is not None or offline:
            raw.any_path = resources
            fetcher, defaults = config.RepoFileFetcher, RepoFileFetcher()
            for kind in ("github_raw_urls", "gitlab_raw_urls", "gist_raw_urls"):
                hosts = {**getattr(defaults, kind), **dict(fetcher.get(kind) or {})}
                fetcher[kind] = {h: raw.url + "/{repo}/{commit}/{path}" for h in hosts}
        name = server or server_name(options)
        manifests = await hub_launch(config, pod, user, name, options)
    return {k: serialized(v) for k, v in manifests.items()}


def refusal_message(error: Exception) -> str | None:
    """The user's message, if the hub refused the launch.

    The hook raises the hub pod's own LaunchRefused (offline/hub_pod.py imports
    the pod's copy of pyconfig afresh), not this process's class: it is
    known by its name."""
    refused = any(
        cls.__name__ == "LaunchRefused" and cls.__module__ == "pyconfig.hub.refusal"
        for cls in type(error).__mro__
    )
    return str(getattr(error, "jupyterhub_message", error)) if refused else None


def hub_configuration(
    values: dict[str, Any], log: TextIO, objects: list[dict[str, Any]] | None = None
) -> tuple[Any, Any]:
    """The hub's configuration for a values file, from the rendered release
    (``objects``, when it is rendered already), and the hub pod it runs in."""
    from offline.hub_pod import config_for

    root = Path(tempfile.mkdtemp(prefix="pyconfig-preview-"))
    return config_for(values, root, log, objects)


class Refused(Exception):
    """What refuses the launch: the hub (the user's message), or the
    namespace (the API server's)."""


def admitted_launch(
    objects: list[dict[str, Any]],
    pod_security: str,
    launching: Callable[[Any], Awaitable[dict[str, Any]]],
    quiet: contextlib.AbstractContextManager,
) -> dict[str, Any]:
    """The launch's manifests in the namespace of a fresh install of
    ``objects``: its labels, ResourceQuota and LimitRange, and the release's
    own pods admitted first (they hold their share of the quota, which the
    hub reads before a launch when NamespaceQuota is on). The Pod then goes
    through the namespace's admission: only its spec is taken back (a
    LimitRange fills defaults there)."""
    from fakes.kube_api import ApiError
    from fakes.pod_security import LABEL
    from fakes.workloads import admit_release_pods, fresh_namespace
    from offline.chart import NAMESPACE

    with fresh_namespace(objects, NAMESPACE, {LABEL: pod_security}) as kube:
        try:
            admit_release_pods(kube, objects, NAMESPACE)
        except ApiError as error:
            raise Refused(
                "the namespace refuses a pod of the release itself, so nothing "
                f"would run: {error.message}"
            ) from None
        try:
            with quiet:
                manifests = asyncio.run(launching(kube))
        except Exception as error:
            refusal = refusal_message(error)
            if refusal is None:
                raise
            raise Refused(refusal) from None
        try:
            stored = kube.create("pods", NAMESPACE, manifests["pod"], as_client=True)
        except ApiError as error:
            raise Refused(
                f"the namespace refuses the notebook's Pod: {error.message}"
            ) from None
    return {**manifests, "pod": {**manifests["pod"], "spec": stored["spec"]}}


def _read_file(path: Path) -> bytes:
    """A regular file's bytes; anything else (a FIFO would block forever) is
    refused before it is opened."""
    if not stat.S_ISREG(path.stat().st_mode):
        raise OSError(f"{path}: not a regular file")
    return path.read_bytes()


# KubeSpawner loads a Kubernetes config when it is made; a preview never calls
# the API, so it gets one that points nowhere rather than the admin's own.
_NO_CLUSTER = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {token: preview}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def _no_cluster() -> None:
    from kubernetes_asyncio.config import kube_config

    stub = Path(tempfile.mkdtemp(prefix="pyconfig-preview-")) / "kubeconfig"
    stub.write_text(_NO_CLUSTER)
    # Read when KubeSpawner loads its config (the variable KUBECONFIG was
    # already read when kubernetes_asyncio was imported).
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(stub)


def run(
    values_path: Path,
    spec: str,
    user: str,
    resources_path: Path | None,
    out=None,
    verbose: bool = False,
    image: str | None = None,
    pod_security: str = "privileged",
) -> int:
    """The command: 0 and a YAML stream, 1 with the refusal (the hub's, or the
    namespace's), 2 on bad usage.

    The hub's own log lines (alembic, z2jh's "Loading ...", KubeSpawner) are
    printed only with ``verbose``."""
    out = out or sys.stdout
    try:
        from offline import chart
    except ImportError:
        print(
            "error: preview renders the chart: run it in a clone of the project "
            "after `make setup`",
            file=sys.stderr,
        )
        return 2
    log = io.StringIO()
    hub_log = RedactedLines(sys.stderr) if verbose else log
    quiet = contextlib.redirect_stderr(hub_log)
    try:
        values = chart.load_values(values_path)  # a file it refuses: at once
        _no_cluster()
        resources = _read_file(resources_path) if resources_path else None
        options = user_options(spec)
        options["image"] = image or f"(the image BinderHub builds for {spec})"
        with quiet:
            objects = chart.manifests(chart.render(values))
            code_only, skipped = chart_code_only(objects, chart.CHART)
            if skipped:
                print(redacted(note(str(values_path), skipped)), file=sys.__stderr__)
            config, pod = hub_configuration(values, hub_log, code_only)
    except (OSError, SpecError, chart.ChartError) as error:
        print(f"error: {redacted(str(error))}", file=sys.stderr)
        return 2
    except Exception as error:  # Helm or a hub.extraConfig snippet refused
        from offline.schema_problems import problems

        for why in problems(str(error)) or [str(error).strip()]:
            print(f"error: {values_path}: {redacted(why)}", file=sys.stderr)
        return 2
    try:
        manifests = admitted_launch(
            objects,
            pod_security,
            lambda kube: launch(config, pod, options, user, resources, kube=kube),
            quiet,
        )
    except Refused as refused:
        print(redacted(str(refused)), file=sys.stderr)
        return 1
    from offline.values_diff import masked_one

    shown = [manifests["pod"]] + ([manifests["pvc"]] if manifests["pvc"] else [])
    shown = [masked_one(manifest) for manifest in shown]  # env values, keys
    out.write("".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in shown))
    return 0
