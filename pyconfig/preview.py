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
from urllib.parse import quote, unquote, urlsplit

import yaml
from kubernetes_asyncio.config import kube_config

from .hub_values import build_spawner, effective_values, hub_config
from .launch_resources import LaunchRefused
from .repo_files import Fetched
from .spawn_hook import SpawnHook

CHART_DIR = Path(__file__).resolve().parent.parent / "chart"


class SpecError(ValueError):
    """A launch spec this command cannot read; says which forms it takes."""


SPEC_FORMS = (
    "gh/OWNER/REPO/REF, gl/GROUP%2FPROJECT/REF, gist/USER/ID/REF, "
    "or a https://github.com, https://gitlab.com or https://gist.github.com URL"
)


def user_options(spec: str) -> dict[str, Any]:
    """BinderHub's ``user_options`` for a spec or repository URL."""
    provider, path, ref = _parse(spec)
    host = {"gh": "github.com", "gl": "gitlab.com", "gist": "gist.github.com"}[provider]
    escaped = quote(path, safe="") if provider == "gl" else path
    ref_url = (
        f"https://{host}/{path}/{ref}"
        if provider == "gist"
        else f"https://{host}/{path}/tree/{ref}"
    )
    return {
        "image": "",
        "repo_url": f"https://{host}/{path}",
        "binder_ref_url": ref_url,
        "binder_launch_host": "https://binder.example.org/",
        "binder_request": f"v2/{provider}/{escaped}/{ref}",
        "binder_persistent_request": f"v2/{provider}/{escaped}/{ref}",
    }


def _parse(spec: str) -> tuple[str, str, str]:
    if spec.startswith(("https://", "http://")):
        url = urlsplit(spec)
        parts = [p for p in url.path.split("/") if p]
        provider = {
            "github.com": "gh", "gitlab.com": "gl", "gist.github.com": "gist"
        }.get(url.hostname or "")  # fmt: skip
        if provider is None or len(parts) < 2:
            raise SpecError(f"cannot read {spec!r}: use {SPEC_FORMS}")
        ref = "HEAD"
        for marker in ("-", "tree"):
            if marker in parts:
                at = parts.index(marker)
                tail = parts[at + 1 :]
                ref = tail[-1] if tail else ref
                parts = parts[:at]
        return provider, "/".join(parts), ref
    provider, _, rest = spec.partition("/")
    pieces = rest.split("/")
    if provider == "gl" and len(pieces) == 2:
        return provider, unquote(pieces[0]), pieces[1]
    if provider in ("gh", "gist") and len(pieces) == 3 and all(pieces):
        return provider, f"{pieces[0]}/{pieces[1]}", pieces[2]
    raise SpecError(f"cannot read {spec!r}: use {SPEC_FORMS}")


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
