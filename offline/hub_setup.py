"""Hub configuration and BinderHub-shaped launches shared by the hook tests."""

from __future__ import annotations

import copy
import functools
import tempfile
from pathlib import Path
from typing import Any

from traitlets.config import Config

from fakes.cluster import HUB_TOKEN
from fakes.kube_api import KubeAPI
from offline import chart, hub_pod
from offline.hub_pod import build_spawner  # noqa: F401 - shared by tests

SHA = "0123456789abcdef0123456789abcdef01234567"
CERIT = chart.ROOT / "values" / "cerit.yaml"
OTHER_SHA = "fedcba9876543210fedcba9876543210fedcba98"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@functools.cache
def _cerit_release() -> tuple[dict[str, Any], ...]:
    """values/cerit.yaml's objects, rendered once per test run."""
    return tuple(chart.manifests(chart.render(chart.load_values(CERIT))))


@functools.cache
def _chart_config() -> Config:
    """The hub configuration of values/cerit.yaml, as the hub pod makes it
    (offline/hub_pod.py)."""
    objects = copy.deepcopy(list(_cerit_release()))
    pod = hub_pod.hub_pod(objects, Path(tempfile.mkdtemp(prefix="hub-setup-")))
    return hub_pod.z2jh_config(pod, own_pyconfig=True)


def cerit_api() -> KubeAPI:
    """An empty loopback Kubernetes API (use it as a context manager) that
    grants the hub's token (fakes/kubeconfig.yaml) what values/cerit.yaml's
    Roles grant the hub, and refuses the rest as the API server would."""
    objects = copy.deepcopy(list(_cerit_release()))
    return KubeAPI.for_release(objects, {"hub": HUB_TOKEN})


def cerit_config(raw_url: str, kube_url: str | None = None) -> Config:
    """The production example's hub configuration, pointed at loopback stand-ins.

    A fresh copy each time (each gets its own hook and cache). The URL
    templates keep each provider's real path shape; only the host part is
    the stand-in's, and a GitHub Enterprise host is added.
    """
    c = copy.deepcopy(_chart_config())
    if kube_url:
        c.KubeSpawner.k8s_api_host = kube_url
    c.RepoFileFetcher.github_raw_urls = {
        "github.com": raw_url + "/{repo}/{commit}/{path}",
        "github.example.org": raw_url + "/ghe/raw/{repo}/{commit}/{path}",
    }
    c.RepoFileFetcher.gitlab_raw_urls = {
        "gitlab.com": raw_url + "/api/v4/projects/{repo_quoted}/repository/files/"
        "{path_quoted}/raw?ref={commit}",
    }
    c.RepoFileFetcher.gist_raw_urls = {
        "gist.github.com": raw_url + "/{repo}/raw/{commit}/{path}",
    }
    # Generous: a busy machine must not turn a fetch into the defaults. Tests
    # of a timeout set their own.
    c.RepoFileFetcher.timeout = 30.0
    # No BinderHub reads these refusals: the hook's tests need not wait for
    # one to (the hub process tests keep the chart's delay).
    c.ServerQuota.refusal_delay = 0
    return c


def binder_options(
    provider: str, spec: str, ref_url: str, repo_url: str
) -> dict[str, Any]:
    """``user_options`` as BinderHub's launcher sends them (FACTS section 4)."""
    return {
        "image": "registry.example.org/binder-launch:abc",
        "repo_url": repo_url,
        "token": "launch-token",
        "binder_ref_url": ref_url,
        "binder_launch_host": "https://binder.example.org/",
        "binder_request": f"v2/{provider}/{spec.rsplit('/', 1)[0]}/HEAD",
        "binder_persistent_request": f"v2/{provider}/{spec}",
        "binder_client_ip": "192.0.2.1",
    }


def github(owner: str, repo: str, sha: str = SHA, host: str = "github.com"):
    return binder_options(
        "gh",
        f"{owner}/{repo}/{sha}",
        f"https://{host}/{owner}/{repo}/tree/{sha}",
        f"https://{host}/{owner}/{repo}",
    )


def gitlab(namespace: str, sha: str = SHA):
    escaped = namespace.replace("/", "%2F")
    return binder_options(
        "gl",
        f"{escaped}/{sha}",
        f"https://gitlab.com/{namespace}/tree/{sha}",
        f"https://gitlab.com/{namespace}",
    )


def gist(user: str, gist_id: str, sha: str = SHA):
    return binder_options(
        "gist",
        f"{user}/{gist_id}/{sha}",
        f"https://gist.github.com/{user}/{gist_id}/{sha}",
        f"https://gist.github.com/{user}/{gist_id}.git",
    )


def zenodo(doi: str):
    return binder_options(
        "zenodo", doi, f"https://doi.org/{doi}", f"https://doi.org/{doi}"
    )
