"""The hub configuration each values file produces, executed as z2jh executes it.

Effective values are the upstream defaults in ../shared/upstream overlaid with
the chart's and the values file's; ``pyconfig`` is imported from the
*rendered* ConfigMap written to a folder, so what is tested is what ships.
A launch with BinderHub's ``user_options`` then goes through the hub's own
run_pre_spawn_hook() on the configured spawner class, against the loopback
stand-ins for raw files and Kubernetes Secrets.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

import pytest

from pyconfig.hub_values import (
    SnippetError,
    build_spawner,
    effective_values,
    hub_config,
)
from tools import chart

from .conftest import ROOT
from .hub_setup import SHA, github
from .standins import KubeAPIStandIn, RawFileServer
from .test_spawn_hook import as_sent

UPSTREAM = ROOT.parent / "shared" / "upstream"
VALUES = sorted((ROOT / "values").glob("*.yaml"))
GIB = 1024**3


def rendered_pyconfig(values: dict, folder: Path) -> Path:
    """Write the rendered ConfigMap's files as the hub's volume mount holds them."""
    [configmap] = [
        obj
        for obj in chart.manifests(chart.render(values))
        if obj["metadata"]["name"] == "persistent-binderhub-pyconfig"
    ]
    package = folder / "pyconfig"
    package.mkdir(parents=True)
    for name, text in configmap["data"].items():
        (package / name).write_text(text, encoding="utf-8")
    return folder


def pointed_at(values: dict, raw: RawFileServer, kube: KubeAPIStandIn) -> dict:
    """The values with the hub's outside world replaced by the loopback stand-ins."""
    values = copy.deepcopy(values)
    config = values["binderhub"]["jupyterhub"]["hub"].setdefault("config", {})
    fetcher = config.setdefault("RepoFileFetcher", {})
    fetcher["github_raw_urls"] = {"github.com": raw.url + "/{repo}/{commit}/{path}"}
    config.setdefault("KubeSpawner", {})["k8s_api_host"] = kube.url
    return values


@pytest.fixture
def standins():
    with RawFileServer() as raw, KubeAPIStandIn() as kube:
        yield raw, kube


def configure_from(path: Path, raw, kube, folder: Path):
    values = pointed_at(chart.load_values(path), raw, kube)
    effective = effective_values(values, ROOT / "chart", UPSTREAM)
    return effective, hub_config(effective, rendered_pyconfig(values, folder))


@pytest.mark.parametrize("path", VALUES, ids=[p.name for p in VALUES])
def test_a_launch_on_the_configured_hub_gets_the_expected_pod(path, standins, tmp_path):
    raw, kube = standins
    raw.files[f"/owner/repo/{SHA}/.resources"] = b"cpur=0.5\nmeml=4\n"
    effective, c = configure_from(path, raw, kube, tmp_path)

    hook = c.KubeSpawner.pre_spawn_hook
    assert hook.__code__.co_filename.startswith(str(tmp_path)), "not the shipped code"
    assert c.JupyterHub.allow_named_servers is True
    # The quota counts active servers (pyconfig.quota); JupyterHub's own
    # count-everything check is off.
    assert c.ServerQuota.limit == effective["hub"]["namedServerLimitPerUser"]
    assert c.JupyterHub.named_server_limit_per_user == 0
    [cull] = c.JupyterHub.services
    assert "--remove-named-servers" in cull["command"]
    assert "--cull-users" not in cull["command"]

    async def launch():
        spawner = build_spawner(c, "alice", "repo-x1")
        assert type(spawner).__name__ == "BinderSpawner"
        spawner.user_options = github("owner", "repo")
        await spawner.run_pre_spawn_hook()
        return as_sent(await spawner.get_pod_manifest())

    pod = asyncio.run(launch())
    container = pod["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == 0.5
    assert container["resources"]["limits"]["memory"] == 4 * GIB
    assert container["args"][0] == "jupyterhub-singleuser"
    assert container["securityContext"]["runAsUser"] == 1000
    assert pod["spec"]["securityContext"]["fsGroup"] == 100
    assert pod["spec"]["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["persistent-binderhub-home"]["persistentVolumeClaim"] == {
        "claimName": "alice-nfs-pvc"
    }
    assert volumes["persistent-binderhub-ssh-key"]["secret"]["secretName"] == (
        "alice-ssh-key"
    )
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert {"/home/alice-nfs-pvc", "/home/jovyan/.ssh/ssh.priv"} <= set(mounts)
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PERSISTENT_HOME"] == "/home/alice-nfs-pvc"
    assert env["BINDERHUB_RESOURCES_SOURCE"].startswith("from .resources of ")
    assert ("default", "alice-ssh-key") in kube.secrets


def test_defaults_follow_singleuser_cpu_and_memory(standins, tmp_path):
    """minimal.yaml sets no ResourcePolicy: the chart's singleuser values rule."""
    raw, kube = standins
    _, c = configure_from(ROOT / "values" / "minimal.yaml", raw, kube, tmp_path)

    async def launch():
        spawner = build_spawner(c, "alice", "plain")
        spawner.user_options = github("owner", "no-file")
        await spawner.run_pre_spawn_hook()
        return as_sent(await spawner.get_pod_manifest())

    resources = asyncio.run(launch())["spec"]["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": 1.0, "memory": 1 * GIB}
    assert resources["limits"] == {"cpu": 8.0, "memory": 16 * GIB}


def test_a_failing_snippet_is_named(tmp_path):
    values = json.loads(json.dumps(chart.load_values(ROOT / "values" / "minimal.yaml")))
    values["binderhub"]["jupyterhub"]["hub"]["extraConfig"] = {
        "99-broken": "raise ValueError('no such setting')"
    }
    effective = effective_values(values, ROOT / "chart", UPSTREAM)
    with pytest.raises(SnippetError, match=r"hub\.extraConfig\.99-broken failed"):
        hub_config(effective, rendered_pyconfig(values, tmp_path))
