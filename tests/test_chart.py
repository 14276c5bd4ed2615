"""The chart, offline: every values file renders, lints, validates and scans clean.

Rendering is the real Helm engine (helm-python-sdk). The upstream binderhub
chart is not fetched (no chart repository here), so the objects checked are
this chart's own; the binderhub subtree of each values file is validated
against the upstream schemas in ../shared/upstream instead.
"""

from __future__ import annotations

import json
import subprocess
import sys

import helm_python
import jsonschema
import kubernetes_validate
import pytest
import yaml

from pyconfig.hub_values import deep_merge
from tools import chart

from .conftest import ROOT

VALUES = sorted((ROOT / "values").glob("*.yaml"))
UPSTREAM = ROOT.parent / "shared" / "upstream"
OLDEST_KUBERNETES = "1.28.0"  # binderhub chart's kubeVersion
NEWEST_KUBERNETES = kubernetes_validate.latest_version()
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
ACCEPTED = ROOT / "tests" / "checkov-accepted.yaml"

ids = [path.name for path in VALUES]
LINT_INFO = 1  # helm lint severities: 1 info, 2 warning, 4 error
# The one finding expected offline: `make deps` fetches the dependency.
OFFLINE_WARNING = "chart directory is missing these dependencies: binderhub"


@pytest.fixture(scope="module", params=VALUES, ids=ids)
def rendered(request):
    values = chart.load_values(request.param)
    return request.param, chart.render(values)


def test_values_files_exist():
    assert {p.name for p in VALUES} == {"cerit.yaml", "minimal.yaml", "lint.yaml"}


def test_schema_is_generated_from_its_source():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "render_schema.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_schema_sections_follow_the_hub_classes():
    """A new trait in a hub class appears in the chart schema: both are generated."""
    from pyconfig.policy import ResourcePolicy

    schema = json.loads((ROOT / "chart" / "values.schema.json").read_text())
    section = schema["properties"]["binderhub"]["properties"]["jupyterhub"][
        "properties"
    ]["hub"]["properties"]["config"]["properties"]["ResourcePolicy"]
    assert section["additionalProperties"] is False
    assert set(section["properties"]) == set(
        ResourcePolicy.class_trait_names(config=True)
    )
    assert section["properties"]["max_cpu"]["exclusiveMinimum"] == 0


@pytest.mark.parametrize("path", VALUES, ids=ids)
def test_helm_strict_lint(path):
    for version in (OLDEST_KUBERNETES, NEWEST_KUBERNETES):
        report = helm_python.lint(
            str(chart.CHART), chart.load_values(path), strict=True, kube_version=version
        )
        errors = [
            m
            for m in report.get("messages", [])
            if m["severity"] > LINT_INFO and m["error"] != OFFLINE_WARNING
        ]
        assert not errors, (version, errors)


def test_rendered_objects_are_valid_kubernetes(rendered):
    _, output = rendered
    objects = chart.manifests(output)
    assert {"ConfigMap", "Pod"} <= {o["kind"] for o in objects}
    for version in (OLDEST_KUBERNETES, NEWEST_KUBERNETES):
        for obj in objects:
            kubernetes_validate.validate(obj, version, strict=True)


def test_rendered_output_passes_yamllint(rendered, tmp_path):
    path, output = rendered
    target = tmp_path / f"{path.stem}.yaml"
    target.write_text(chart.stream(output))
    # Line length is not checked: ConfigMaps carry files (a JSON schema with
    # long descriptions) whose lines are not YAML structure.
    config = "{extends: default, rules: {line-length: disable}}"
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-d", config, str(target)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def checkov_failures(rendered_text: str, folder) -> set[tuple[str, str]]:
    """(check id, resource) of every failed checkov check on a rendered stream."""
    assert CHECKOV.exists(), "run `make setup` (.venv-checkov)"
    target = folder / "rendered.yaml"
    target.write_text(rendered_text)
    result = subprocess.run(
        [str(CHECKOV), "--framework", "kubernetes", "--skip-download", "--quiet",
         "--output", "json", "--file", str(target)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    report = json.loads(result.stdout or "{}")
    return {
        (check["check_id"], check["resource"])
        for one in (report if isinstance(report, list) else [report])
        for check in one.get("results", {}).get("failed_checks", [])
    }


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory):
    return {
        path.name: checkov_failures(
            chart.stream(chart.render(chart.load_values(path))),
            tmp_path_factory.mktemp(path.stem),
        )
        for path in VALUES
    }


def accepted_findings() -> set[tuple[str, str]]:
    entries = yaml.safe_load(ACCEPTED.read_text())
    assert all(entry.get("reason") for entry in entries), "every entry needs a reason"
    return {(entry["check"], entry["resource"]) for entry in entries}


@pytest.mark.parametrize("name", [p.name for p in VALUES])
def test_checkov_finds_nothing_unreviewed(checkov_results, name):
    assert checkov_results[name] - accepted_findings() == set()


def test_checkov_baseline_has_no_stale_entries(checkov_results):
    """Every accepted finding still occurs for some values file."""
    occurring = set().union(*checkov_results.values())
    assert accepted_findings() <= occurring, accepted_findings() - occurring


@pytest.mark.parametrize("path", VALUES, ids=ids)
def test_binderhub_subtree_validates_against_the_upstream_schemas(path):
    ours = deep_merge(
        chart.load_values(chart.CHART / "values.yaml"), chart.load_values(path)
    )
    binderhub_defaults = yaml.safe_load(
        (UPSTREAM / "binderhub-chart.default-values.yaml").read_text()
    )
    z2jh_defaults = yaml.safe_load(
        (UPSTREAM / "jupyterhub-chart-4.2.0.default-values.yaml").read_text()
    )
    binderhub = deep_merge(binderhub_defaults, ours["binderhub"])
    jupyterhub = deep_merge(z2jh_defaults, binderhub_defaults["jupyterhub"],
                            ours["binderhub"]["jupyterhub"])  # fmt: skip
    for values, name in (
        (binderhub, "binderhub-chart.values.schema.json"),
        (jupyterhub, "jupyterhub-chart-4.2.0.values.schema.json"),
    ):
        schema = json.loads((UPSTREAM / name).read_text())
        errors = sorted(
            jsonschema.Draft7Validator(schema).iter_errors(values), key=lambda e: e.path
        )
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_notes_tell_the_admin_what_to_do_next(rendered):
    _, output = rendered
    notes = output["persistent-binderhub/templates/NOTES.txt"]
    assert "helm test binderhub" in notes
    assert "never deleted" in notes


MINIMAL = chart.load_values(ROOT / "values" / "minimal.yaml")


def with_change(dotted: str, value) -> dict:
    """minimal.yaml with one key set (None removes it)."""
    values = json.loads(json.dumps(MINIMAL))
    *parents, last = dotted.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return values


HUB_CONFIG = "binderhub.jupyterhub.hub.config"

BAD_VALUES = [
    ("persistentBinderhub.storageClas", {}, "storageClas"),
    ("persistentBinderhub.resourceQuota.gpus", "many", "gpus"),
    (f"{HUB_CONFIG}.ResourcePolicy.max_cpu", -4, "max_cpu"),
    (f"{HUB_CONFIG}.ResourcePolicy.max_gpu", -1, "max_gpu"),
    (f"{HUB_CONFIG}.UserStorage.pvc_name", "x", "pvc_name"),
    (f"{HUB_CONFIG}.RepositoryResources.on_fetch_error", "ignore", "on_fetch_error"),
    ("binderhub.jupyterhub.singleuser.cpu", {"guarantee": 4, "limit": 2},
     "singleuser.cpu.limit (2) is below cpu.guarantee (4)"),
    ("binderhub.jupyterhub.singleuser.memory", {"guarantee": "8G", "limit": "2G"},
     "singleuser.memory.limit (2G) is below memory.guarantee (8G)"),
    (f"{HUB_CONFIG}.ResourcePolicy",
     {"default_mem_guarantee": 4, "default_mem_limit": 2},
     "ResourcePolicy.default_mem_limit (2) is below default_mem_guarantee (4)"),
    (f"{HUB_CONFIG}.GenericOAuthenticator.client_id", None,
     "GenericOAuthenticator.client_id is required"),
    (f"{HUB_CONFIG}.GenericOAuthenticator.client_secret", "s3cret",
     "client_secret must not be in values"),
    (f"{HUB_CONFIG}.JupyterHub.authenticator_class", None,
     "authenticator_class is required"),
    ("binderhub.jupyterhub.hub.services.binder.oauth_redirect_uri", None,
     "oauth_redirect_uri is required"),
    ("binderhub.jupyterhub.cull.users", True, "cull.users must be false"),
    ("binderhub.jupyterhub.singleuser.storage", {"type": "dynamic"},
     'singleuser.storage.type is "dynamic" but must be none'),
    (f"{HUB_CONFIG}.BinderSpawner.auth_enabled", False, "must be equal"),
    (f"{HUB_CONFIG}.ResourcePolicy.max_cpu", 4,
     "singleuser.cpu.limit (8) is above binderhub.jupyterhub.hub.config"),
    (f"{HUB_CONFIG}.ResourcePolicy.max_mem", 8,
     "singleuser.memory.limit (16G) is above"),
    ("persistentBinderhub.storageClass.create", True,
     "nfs.server and .share are required"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value", "fragment"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES]
)
def test_bad_values_fail_at_template_time_naming_the_key(key, value, fragment):
    with pytest.raises(helm_python.HelmError) as caught:
        chart.render(with_change(key, value))
    assert fragment in str(caught.value)


def test_minimal_values_render():
    assert chart.manifests(chart.render(MINIMAL))


def test_pyconfig_configmap_ships_the_package_and_the_schema(rendered):
    _, output = rendered
    [configmap] = [
        o for o in chart.manifests(output)
        if o["metadata"]["name"] == "persistent-binderhub-pyconfig"
    ]  # fmt: skip
    data = configmap["data"]
    package = ROOT / "pyconfig"
    expected = {p.name for p in package.glob("*.py")} | {"resources.schema.json"}
    expected |= {p.name for p in package.glob("*.html")}
    assert set(data) == expected
    for name in expected:
        assert data[name] == (package / name).read_text(encoding="utf-8"), name


def test_render_command_writes_the_stream_and_a_summary(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tools.chart", "values/minimal.yaml"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ConfigMap      persistent-binderhub-pyconfig" in result.stdout
    written = ROOT / "build" / "rendered" / "minimal.yaml"
    kinds = [d["kind"] for d in yaml.safe_load_all(written.read_text()) if d]
    assert kinds.count("ConfigMap") == 2
