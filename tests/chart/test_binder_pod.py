"""The binder pod of each values file, started by the real BinderHub app.

Each values file is rendered with the chart (offline/chart.py); the binder
container's files are laid out as the pod has them (offline/hub_pod.py: the
binder-secret at /etc/binderhub/config/, the chart's docker config at
/root/.docker/, our registry Secret's mount); the chart's own
binderhub_config.py is then run by BinderHub from ../shared/wheels, in its own
virtualenv with the binder image's pins (.venv-binderhub, `make setup`),
through binder_pod/initialize.py: ``--config <file>`` as the container's args
say, then ``BinderHub.initialize()``. The driver prints the settings that took
effect; this file checks them against what each values file meant, and
against the rest of the render (the builder DaemonSet, the user pods' pull
secret).

What a machine without a cluster forces, and nothing else:

- binderhub_config.py reads the fixed path /etc/binderhub/config/values.yaml:
  ``pod.redirect`` points that prefix into the folder (the only change to
  upstream code). The pod's own arguments and environment values that name a
  path under one of its mounts (``--config``, ``DOCKER_CONFIG``) point into
  the folder too, and ``HOME`` is the folder's /root (the binder container
  runs as root; the chart mounts its docker config at /root/.docker).
- Secrets the admin creates (the kubectl commands atop each values file) are
  not in the render: the ones the binder pod mounts are stand-ins of the same
  type and key, holding placeholder credentials for the registry host of
  ``image_prefix``; the test asserts those never reach the driver's output.
- ``initialize()`` loads a Kubernetes config because builds run on Kubernetes
  (``BinderHub.builder_required``): ``KUBECONFIG`` is fakes/kubeconfig.yaml,
  a loopback cluster nothing listens on. Nothing here calls the API.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from fakes.cluster import KUBECONFIG
from offline import chart, hub_pod
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

BINDERHUB_PYTHON = ROOT / ".venv-binderhub" / "bin" / "python"
DRIVER = Path(__file__).resolve().parent / "binder_pod" / "initialize.py"
CONFIG_DIR = hub_pod.BINDER_CONFIG_DIR
VALUES = sorted((ROOT / "values").glob("*.yaml"))

#: What each values file means the binder pod to do.
EXPECTED: dict[str, dict[str, Any]] = {
    "cerit.yaml": {
        "builder": "dind",
        "docker_host": "unix:///var/run/dind/docker.sock",
        "build_node_selector": {},
        "sticky_builds": True,
        "push_secret": "binderhub-registry-push",
        "pull_secret": "binderhub-registry-pull",
        "image_prefix": "registry.example.org/binderhub/launch-",
        "registry_url": "https://registry.example.org",
        "token_url": "",
        "hub_url": "https://hub.binder.example.org/",
        "hub_host": "https://hub.binder.example.org",
        "redirect_uri": "https://binder.example.org/oauth_callback",
        "named_server_limit": 5,
    },
    "minimal.yaml": {
        "builder": "dind",
        "docker_host": "unix:///var/run/dind/docker.sock",
        "build_node_selector": {},
        "sticky_builds": False,
        "push_secret": "binderhub-registry-push",
        "pull_secret": "binderhub-registry-pull",
        "image_prefix": "registry.example.org/binder/launch-",
        "registry_url": "https://registry.example.org",
        "token_url": "",
        "hub_url": "https://hub.example.org/",
        "hub_host": "https://hub.example.org",
        "redirect_uri": "https://binder.example.org/oauth_callback",
        "named_server_limit": 5,
    },
    "lint.yaml": {
        "builder": "pink",
        "docker_host": "unix:///var/run/binder-pink/podman.sock",
        "build_node_selector": {"binderhub.example.org/builds": "true"},
        "sticky_builds": True,
        "push_secret": "lint-registry-push",
        "pull_secret": "lint-registry-pull",
        "image_prefix": "harbor.lint.example.org/lint/launch-",
        "registry_url": "https://harbor.lint.example.org",
        "token_url": (
            "https://harbor.lint.example.org/service/token?service=harbor-registry"
        ),
        "hub_url": "https://hub.lint.example.org/",
        "hub_host": "https://hub.lint.example.org",
        "redirect_uri": "https://binder.lint.example.org/oauth_callback",
        "named_server_limit": 3,
    },
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class BinderRun:
    """One values file's binder pod, started by BinderHub."""

    values: dict[str, Any]
    objects: list[dict[str, Any]]
    pod: hub_pod.PodOnDisk
    report: dict[str, Any]
    output: str  # stdout and stderr together
    #: Values that must never be printed: credentials and tokens.
    secret_values: list[str]
    #: Names of the stand-in Secrets (made by the admin in a cluster).
    standins: list[str]


def registry_host(values: dict[str, Any]) -> str:
    """Where the images go: the first part of image_prefix."""
    return values["binderhub"]["config"]["BinderHub"]["image_prefix"].split("/")[0]


def binder_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec = chart.find(objects, "Deployment", "binder")["spec"]["template"]["spec"]
    [container] = [c for c in spec["containers"] if c["name"] == "binder"]
    return container


def start_binder(values: dict[str, Any], root: Path) -> BinderRun:
    """Render, lay out the binder pod under ``root`` and run the driver."""
    objects = chart.manifests(chart.render(values))
    username = "placeholder-robot"
    password = f"placeholder-{secrets.token_hex(12)}"
    standins = hub_pod.registry_secret_standins(
        objects, registry_host(values), username, password
    )
    pod, env, args = hub_pod.binder_pod([*objects, *standins], root, KUBECONFIG)
    result = subprocess.run(
        [str(BINDERHUB_PYTHON), str(DRIVER), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    from_secrets = [
        pod.env[e["name"]]
        for e in binder_container(objects).get("env") or []
        if "secretKeyRef" in (e.get("valueFrom") or {}) and e["name"] in pod.env
    ]
    secret_values = [*from_secrets]
    for standin in standins:
        config = json.loads(base64.b64decode(standin["data"][".dockerconfigjson"]))
        secret_values += [a["auth"] for a in config["auths"].values()]
        secret_values += [username, password]
    return BinderRun(
        values=values,
        objects=objects,
        pod=pod,
        report=json.loads(result.stdout),
        output=result.stdout + result.stderr,
        secret_values=secret_values,
        standins=[s["metadata"]["name"] for s in standins],
    )


@pytest.fixture(scope="module", params=VALUES, ids=[p.name for p in VALUES])
def binder(request, tmp_path_factory) -> tuple[str, BinderRun]:
    if not BINDERHUB_PYTHON.exists():
        pytest.fail("the BinderHub virtualenv is missing: run `make setup`")
    path = request.param
    root = tmp_path_factory.mktemp(path.stem)
    return path.name, start_binder(chart.load_values(path), root)


def builder_daemonset(objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    found = [
        o
        for o in objects
        if o["kind"] == "DaemonSet"
        and o["spec"]["template"]["metadata"]["labels"].get("component")
        == "image-builder"
    ]
    assert len(found) <= 1
    return found[0] if found else None


def served_socket(daemonset: dict[str, Any]) -> str:
    """The unix socket the builder daemon listens on, from its own arguments."""
    [container] = daemonset["spec"]["template"]["spec"]["containers"]
    [address] = [
        match.group(1)
        for arg in container.get("args") or []
        for match in [re.search(r"unix://(/\S+)", arg)]
        if match
    ]
    return address


def problems(run: BinderRun) -> list[str]:
    """What would stop builds or launches on a cluster whose nodes have no
    Docker socket, found in the report and the render."""
    found = []
    builder, registry = run.report["builder"], run.report["registry"]
    socket = urlparse(builder["docker_host"]).path
    daemonset = builder_daemonset(run.objects)
    if daemonset is None:
        found.append(f"build pods mount the node's {socket}: no builder DaemonSet")
    elif served_socket(daemonset) != socket:
        found.append(
            f"build pods mount {socket}, the builder listens on "
            f"{served_socket(daemonset)}"
        )
    if daemonset is not None:
        placed = daemonset["spec"]["template"]["spec"].get("nodeSelector") or {}
        if placed != builder["node_selector"]:
            found.append(f"builds go to {builder['node_selector']}, builders {placed}")
    if not registry["use_registry"]:
        found.append("no registry: images stay on the node that built them")
        return found
    prefix_host = registry["image_prefix"].split("/")[0]
    if urlparse(registry["url"]).hostname != prefix_host:
        found.append(
            f"images go to {prefix_host}, BinderHub looks in {registry['url']}"
        )
    if not (registry["has_username"] and registry["has_password"]):
        found.append(f"no credentials for {registry['url']}")
    rendered = {o["metadata"]["name"] for o in run.objects if o["kind"] == "Secret"}
    source = credentials_secret(run)
    if source is None:
        found.append("BinderHub reads registry credentials from no mounted Secret")
    elif source in rendered:
        found.append(f"BinderHub's registry credentials come from values ({source})")
    if builder["push_secret"] in rendered:
        found.append(f"the push Secret comes from values ({builder['push_secret']})")
    return found


def credentials_secret(run: BinderRun) -> str | None:
    """The Secret whose mount holds the docker config BinderHub read."""
    path = run.report["registry"]["docker_config_path"]
    spec = chart.find(run.objects, "Deployment", "binder")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in binder_container(run.objects)["volumeMounts"]:
        folder = str(run.pod.path(mount["mountPath"])).rstrip("/") + "/"
        secret = volumes[mount["name"]].get("secret")
        if path.startswith(folder) and secret:
            return secret["secretName"]
    return None


def test_the_binder_pod_gets_the_settings_its_values_file_meant(binder):
    name, run = binder
    expected = EXPECTED[name]
    builder, registry, auth = (run.report[k] for k in ("builder", "registry", "auth"))

    assert builder["build_class"] == "binderhub.build.KubernetesBuildExecutor"
    assert builder["class"] == builder["build_class"]
    assert builder["docker_host"] == expected["docker_host"]
    assert builder["pod_volumes"]["/var/run/docker.sock"] == {
        "hostPath": urlparse(expected["docker_host"]).path,
        "type": "Socket",
        "subPath": None,
    }
    assert builder["node_selector"] == expected["build_node_selector"]
    assert builder["sticky_builds"] is expected["sticky_builds"]
    assert builder["namespace"] == chart.NAMESPACE  # BUILD_NAMESPACE, the release's
    # Build pods push with the push Secret, mounted as docker's config.json.
    assert builder["push_secret"] == expected["push_secret"]
    assert builder["pushes"] is True
    assert builder["has_registry_credentials"] is False
    assert builder["pod_volumes"]["/root/.docker/config.json"] == {
        "secret": expected["push_secret"],
        "subPath": "config.json",
    }

    assert registry["use_registry"] is True
    assert registry["class"] == "binderhub.registry.DockerRegistry"
    assert registry["image_prefix"] == expected["image_prefix"]
    assert registry["url"] == expected["registry_url"]
    assert registry["token_url"] == expected["token_url"]
    # The binder pod checks the registry with the pull Secret's credentials.
    assert registry["auth_config_url"] == registry_host(run.values)
    assert registry["has_username"] and registry["has_password"]
    assert run.standins == [expected["pull_secret"]]
    volume = next(
        v
        for v in chart.find(run.objects, "Deployment", "binder")["spec"]["template"][
            "spec"
        ]["volumes"]
        if v.get("secret", {}).get("secretName") == expected["pull_secret"]
    )
    [mount] = [
        m
        for m in binder_container(run.objects)["volumeMounts"]
        if m["name"] == volume["name"]
    ]
    assert registry["docker_config_path"] == str(
        run.pod.path(mount["mountPath"]) / "config.json"
    )

    assert auth["auth_enabled"] is True
    assert auth["create_user"] is False
    assert auth["hub_url"] == auth["hub_url_local"] == expected["hub_url"]
    assert auth["has_hub_api_token"] is True
    assert auth["allow_named_servers"] is True
    assert auth["named_server_limit_per_user"] == expected["named_server_limit"]
    assert auth["oauth"] == {
        "hub_host": expected["hub_host"],
        "api_url": expected["hub_url"] + "hub/api/",
        "base_url": "/",
        "oauth_client_id": "service-binderhub",
        "oauth_redirect_uri": expected["redirect_uri"],
        "has_api_token": True,
    }
    # The values BinderHub loaded are the rendered Secret's, from the folder.
    assert f"Loading {run.pod.path(CONFIG_DIR)}/values.yaml" in run.output
    # Our snippet ran with the pod's copy of pyconfig/binder, and BinderHub
    # launches through its launcher, with the chart's Launcher settings.
    assert "Loading extra config: 10-persistent-binderhub" in run.output
    assert run.report["launcher_class"] == (
        "pyconfig.binder.launcher.FailureOnceLauncher"
    )
    assert run.report["launcher_retries"] == 1  # c.Launcher applies to it
    # Every page leads back to the hub: its home page and logout, above the
    # values file's own banner.
    hub = expected["hub_url"]
    banner = run.report["banner_message"]
    assert banner.startswith(
        f'<nav class="pbh-hub-links" aria-label="Your account"><a href="{hub}hub/home">'
        f'Your notebooks</a> &middot; <a href="{hub}hub/logout">Log out</a></nav>'
    ), banner
    own = run.values["binderhub"]["config"]["BinderHub"].get("banner_message")
    assert banner.endswith(f"<div>{own}</div>" if own else "</nav>"), banner


def test_builds_can_run_and_push_on_a_node_without_docker(binder):
    name, run = binder
    assert problems(run) == []
    daemonset = builder_daemonset(run.objects)
    assert daemonset["metadata"]["name"] == f"binderhub-{EXPECTED[name]['builder']}"


def test_registry_credentials_come_from_existing_secrets_and_are_never_printed(
    binder,
):
    _, run = binder
    registry = run.values["binderhub"].get("registry") or {}
    assert not registry.get("username") and not registry.get("password")
    rendered = {o["metadata"]["name"] for o in run.objects if o["kind"] == "Secret"}
    assert run.report["builder"]["push_secret"] not in rendered
    assert not set(run.standins) & rendered
    assert run.secret_values and all(len(v) >= 8 for v in run.secret_values)
    for value in run.secret_values:
        assert value not in run.output


def test_user_pods_pull_with_the_pull_secret(binder, tmp_path):
    """z2jh's own jupyterhub_config.py gives KubeSpawner the pull secret."""
    name, run = binder
    config = hub_pod.z2jh_config(hub_pod.hub_pod(run.objects, tmp_path))
    assert config.KubeSpawner.image_pull_secrets == [EXPECTED[name]["pull_secret"]]


def test_the_defaults_the_issue_reported_are_caught(tmp_path):
    """minimal.yaml without its builder and registry settings: builds would
    mount a Docker socket containerd nodes lack, BinderHub would look for
    images on Docker Hub, without credentials."""
    values = copy.deepcopy(chart.load_values(ROOT / "values" / "minimal.yaml"))
    binder = values["binderhub"]
    for key in ("imageBuilderType", "extraEnv", "extraVolumes", "extraVolumeMounts"):
        binder.pop(key)
    binder["config"].pop("DockerRegistry")
    binder["config"].pop("KubernetesBuildExecutor")
    run = start_binder(values, tmp_path)

    assert run.report["builder"]["docker_host"] == "/var/run/docker.sock"
    assert run.report["registry"]["url"] == "https://registry-1.docker.io"
    assert problems(run) == [
        "build pods mount the node's /var/run/docker.sock: no builder DaemonSet",
        "images go to registry.example.org, BinderHub looks in "
        "https://registry-1.docker.io",
        "BinderHub's registry credentials come from values "
        "(binder-build-docker-config)",
        "the push Secret comes from values (binder-build-docker-config)",
    ]
