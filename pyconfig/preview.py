"""``python -m pyconfig preview``: the Pod and PVC a launch would get, offline.

Answers "why did my notebook get 8 CPUs?": the values file is turned into the
hub's configuration as z2jh does it (pyconfig.hub_values), a spawner is made
as the hub makes one, and the same hook code decides the launch. Nothing is
created: the SSH key Secret is not touched, and with ``--resources`` the
repository is not fetched either.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio.config import kube_config

from .hub_values import build_spawner, effective_values, hub_config
from .launch_resources import LaunchRefused
from .launch_spec import SpecError, user_options
from .repo_files import Fetched
from .spawn_hook import SpawnHook

CHART_DIR = Path(__file__).resolve().parent.parent / "chart"


class _LocalFile:
    """Stands in for the fetcher when the file is given with --resources."""

    def __init__(self, data: bytes | None):
        self.data = data

    async def fetch(self, repo: Any, path: str) -> Fetched:
        return Fetched(self.data)


async def _preview(values: dict, spec: str, user: str, resources: bytes | None,
                   upstream: Path | None) -> list[dict]:  # fmt: skip
    config = hub_config(effective_values(values, CHART_DIR, upstream))
    options = user_options(spec)
    name = re.sub(r"[^a-z0-9-]", "-", options["repo_url"].rsplit("/", 1)[-1].lower())
    spawner = build_spawner(config, user, f"{name[:30]}-preview")
    spawner.user_options = options
    hook = SpawnHook(config)
    if resources is not None:
        hook.resources.fetcher = _LocalFile(resources)
    await hook.prepare(spawner, ensure_key=False)
    from kubernetes_asyncio.client import ApiClient

    serializer = ApiClient.__new__(ApiClient)  # serializer only; no connection
    return [
        serializer.sanitize_for_serialization(await spawner.get_pod_manifest()),
        serializer.sanitize_for_serialization(spawner.get_pvc_manifest()),
    ]


# KubeSpawner loads a Kubernetes config when it is made; a preview never calls
# the API, so it gets one that points nowhere rather than the admin's own.
_NO_CLUSTER = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def run(values_path: Path, spec: str, user: str, resources_path: Path | None,
        upstream: Path | None, out=None) -> int:  # fmt: skip
    """The command: 0 and a YAML stream, 1 with the refusal, 2 on bad usage."""
    out = out or sys.stdout
    logging.getLogger("alembic").setLevel(logging.WARNING)
    stub = Path(tempfile.mkdtemp(prefix="pyconfig-preview-")) / "kubeconfig"
    stub.write_text(_NO_CLUSTER)
    # Read when KubeSpawner loads its config (the variable KUBECONFIG was
    # already read when kubernetes_asyncio was imported).
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(stub)
    try:
        values = yaml.safe_load(values_path.read_text(encoding="utf-8")) or {}
        resources = resources_path.read_bytes() if resources_path else None
        user_options(spec)
    except (OSError, yaml.YAMLError, SpecError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        objects = asyncio.run(_preview(values, spec, user, resources, upstream))
    except LaunchRefused as refused:
        print(refused.log_message % refused.args, file=sys.stderr)
        return 1
    out.write(
        "".join("---\n" + yaml.safe_dump(obj, sort_keys=False) for obj in objects)
    )
    return 0
