"""The whole release, offline: every values file renders, lints, validates, scans.

Rendering is the real Helm engine (helm-python-sdk) over this chart and the
pinned binderhub chart with z2jh inside (chart/charts/, put there by `make
deps`), for Kubernetes 1.28 and the newest release, as `helm template`
would for such a cluster. The checks are tools/chart_checks.py's, the same
that `make lint` runs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import helm_python
import pytest
import yaml

from offline import chart
from offline.hub_pod import (
    binder_pod,
    config_for,
    hub_pod,
    registry_secret_standins,
)
from pyconfig.admin.chart_values import policy_from_values
from pyconfig.resources.policy import ResourcePolicy
from tests.conftest import ROOT
from tools import chart_checks, pyconfig_volume

pytestmark = pytest.mark.slow  # renders with Helm's engine, lints and scans

VALUES = chart_checks.VALUES
ids = [path.name for path in VALUES]
RENDERS = [(path, version) for path in VALUES for version in chart_checks.VERSIONS]
render_ids = [f"{path.stem}-{version}" for path, version in RENDERS]


@pytest.fixture(scope="module", params=RENDERS, ids=render_ids)
def release(request):
    return chart_checks.render(*request.param)


@pytest.fixture(scope="module", params=VALUES, ids=ids)
def rendered(request):
    return request.param, chart.render(chart.load_values(request.param))


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
    from pyconfig.resources.policy import ResourcePolicy

    schema = json.loads((ROOT / "chart" / "values.schema.json").read_text())
    section = schema["properties"]["binderhub"]["properties"]["jupyterhub"][
        "properties"
    ]["hub"]["properties"]["config"]["properties"]["ResourcePolicy"]
    assert section["additionalProperties"] is False
    assert set(section["properties"]) == set(
        ResourcePolicy.class_trait_names(config=True)
    )
    assert section["properties"]["max_cpu"]["exclusiveMinimum"] == 0


def test_the_release_holds_every_upstream_object(release):
    """What `helm upgrade` applies: this chart's, binderhub's and z2jh's objects."""
    charts = {chart.chart_of(t) for t, _ in chart.sources(release.rendered)}
    assert charts == {"persistent-binderhub", "binderhub", "jupyterhub"}
    kinds = {(o["kind"], o["metadata"]["name"]) for o in release.objects}
    assert {
        ("Deployment", "hub"),
        ("Deployment", "binder"),
        ("Deployment", "proxy"),
        ("Secret", "hub"),
        ("ConfigMap", "persistent-binderhub-pyconfig"),
    } <= kinds
    assert len(release.objects) >= 35


def test_pod_disruption_budgets_use_the_api_the_cluster_serves(release):
    """Regression: without the cluster's API versions Helm picked policy/v1beta1,
    which Kubernetes 1.25+ does not serve."""
    budgets = [o for o in release.objects if o["kind"] == "PodDisruptionBudget"]
    assert budgets
    assert {o["apiVersion"] for o in budgets} == {"policy/v1"}


def test_built_in_apis_are_the_releases_own():
    apis = chart.builtin_api_versions("1.28")
    assert {"v1", "apps/v1", "policy/v1", "policy/v1/PodDisruptionBudget"} <= set(apis)
    assert not [a for a in apis if "alpha" in a]
    assert "policy/v1beta1/PodDisruptionBudget" not in apis  # gone since 1.25


def test_a_kubernetes_older_than_the_chart_supports_is_refused():
    with pytest.raises(chart.ChartError, match=r"older than the chart supports"):
        chart.render(MINIMAL, "1.27")


def test_a_render_without_the_dependency_says_to_run_make_deps(tmp_path):
    copy = tmp_path / "chart"
    shutil.copytree(
        chart.CHART, copy, symlinks=True, ignore=shutil.ignore_patterns("charts")
    )
    (copy / "files" / "pyconfig").unlink()
    (copy / "files" / "pyconfig").symlink_to(ROOT / "pyconfig")
    with pytest.raises(chart.ChartError, match=r"lacks binderhub .*run `make deps`"):
        chart.render(MINIMAL, chart_dir=copy)


def test_helm_strict_lint(release):
    assert chart_checks.lint_problems(release) == []


def test_rendered_objects_are_valid_kubernetes(release):
    assert chart_checks.kubernetes_problems(release) == []


def test_rendered_output_passes_yamllint(release):
    assert chart_checks.yamllint_problems(release) == []


@pytest.fixture(scope="module")
def checkov_results():
    renders = [chart_checks.render(path, version) for path, version in RENDERS]
    return renders, chart_checks.checkov_findings(renders)


def test_checkov_finds_nothing_unreviewed(checkov_results):
    renders, findings = checkov_results
    assert all(findings.values()), "checkov found nothing: did it run?"
    assert chart_checks.unreviewed(findings, renders) == []


def test_checkov_reviews_have_no_stale_entries(checkov_results):
    """Every reviewed finding still occurs for some values file and version."""
    _, findings = checkov_results
    assert chart_checks.stale_reviews(findings) == []


def test_checkov_reviews_keep_ours_apart_from_upstreams():
    review = chart_checks.reviewed()
    ours = {r for e in review["ours"].values() for r in e["resources"]}
    assert ours and all(".binderhub." in r for r in ours)  # our objects' namespace
    assert all(e["reason"].strip() for side in review.values() for e in side.values())


def test_notes_tell_the_admin_what_to_do_next(rendered):
    _, output = rendered
    notes = output["persistent-binderhub/templates/NOTES.txt"]
    assert "helm test binderhub" in notes
    assert "never deleted" in notes


MINIMAL = chart.load_values(ROOT / "values" / "minimal.yaml")


def with_change(dotted: str, value) -> dict:
    """minimal.yaml with one key set (None removes it)."""
    return with_changes({dotted: value})


def with_changes(changes: dict) -> dict:
    """minimal.yaml with these dotted keys set (None removes one)."""
    values = json.loads(json.dumps(MINIMAL))
    for dotted, value in changes.items():
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
    (f"{HUB_CONFIG}.UserStorage.capacity", "lots", "capacity"),
    (
        f"{HUB_CONFIG}.ResourcePolicyy",
        {"max_gpu": 1},
        "additional properties 'ResourcePolicyy' not allowed",
    ),
    (
        "binderhub.jupyterhub.hub.namedServerLimitPerUsr",
        3,
        "additional properties 'namedServerLimitPerUsr' not allowed",
    ),
    (
        "binderhub.imageBuilderTyp",
        "dind",
        "additional properties 'imageBuilderTyp' not allowed",
    ),
    (
        f"{HUB_CONFIG}.GenericOAuthenticator.client_id",
        None,
        "GenericOAuthenticator.client_id is required",
    ),
    (
        f"{HUB_CONFIG}.GenericOAuthenticator.client_secret",
        "s3cret",
        "client_secret must not be in values",
    ),
    (
        f"{HUB_CONFIG}.JupyterHub.authenticator_class",
        None,
        "authenticator_class is required",
    ),
    (
        "binderhub.jupyterhub.hub.services.binder.oauth_redirect_uri",
        None,
        "oauth_redirect_uri is required",
    ),
    ("binderhub.jupyterhub.cull.users", True, "cull.users must be false"),
    (
        "binderhub.jupyterhub.singleuser.storage",
        {"type": "dynamic"},
        'singleuser.storage.type is "dynamic" but must be none',
    ),
    (f"{HUB_CONFIG}.BinderSpawner.auth_enabled", False, "must be equal"),
    (
        "persistentBinderhub.storageClass.create",
        True,
        "nfs.server and .share are required",
    ),
    # A list in a values file replaces the chart's, which holds our code's
    # volume: the pod would start without it.
    (
        "binderhub.extraVolumes",
        [{"name": "theirs", "emptyDir": {}}],
        "binderhub.extraVolumes and binderhub.extraVolumeMounts must keep the "
        "chart's persistent-binderhub-pyconfig entries",
    ),
    (
        "binderhub.jupyterhub.hub.extraVolumeMounts",
        [],
        "binderhub.jupyterhub.hub.extraVolumes and "
        "binderhub.jupyterhub.hub.extraVolumeMounts must keep",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "fragment"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES]
)
def test_bad_values_fail_at_template_time_naming_the_key(key, value, fragment):
    with pytest.raises(helm_python.HelmError) as caught:
        chart.render(with_change(key, value))
    assert fragment in str(caught.value)
    if not isinstance(caught.value, helm_python.HelmValuesError):  # not the schema
        assert "the values have 1 problem;" in str(caught.value)


def test_every_problem_of_the_values_is_listed_in_one_failure():
    """Two mistakes, one render: both reported, one line each, and counted."""
    values = with_changes(
        {
            "binderhub.jupyterhub.cull.users": True,
            "binderhub.jupyterhub.singleuser.storage": {"type": "dynamic"},
            f"{HUB_CONFIG}.GenericOAuthenticator.token_url": None,
        }
    )
    with pytest.raises(helm_python.HelmError) as caught:
        chart.render(values)
    message = str(caught.value)
    assert "the values have 3 problems;" in message
    lines = message.splitlines()
    assert [line for line in lines if line.startswith("- ")] == [
        "- binderhub.jupyterhub.cull.users must be false when authentication is "
        "on: culling would delete logged-in users; idle servers are removed by "
        "cull.removeNamedServers",
        "- binderhub.jupyterhub.hub.config.GenericOAuthenticator.token_url is "
        "required for the OIDC login (authenticator_class generic-oauth)",
        '- binderhub.jupyterhub.singleuser.storage.type is "dynamic" but must be '
        "none: the per-user volume comes from "
        "binderhub.jupyterhub.hub.config.UserStorage",
    ]


#: Resource amounts that contradict each other. The chart does not check
#: them: the hub's Python does (ResourcePolicy.contradictions, on the defaults
#: pyconfig.hub.configure derives from singleuser.cpu and .memory), at hub
#: start and in `python -m pyconfig check --values`. Each: the changes to
#: minimal.yaml, what the check says (naming the values key to fix), what
#: the hub says when it refuses to start.
RESOURCE_CONTRADICTIONS = [
    (
        "singleuser-cpu-guarantee-above-limit",
        {"binderhub.jupyterhub.singleuser.cpu": {"guarantee": 4, "limit": 2}},
        "binderhub.jupyterhub.singleuser.cpu.guarantee (4, taken as "
        "ResourcePolicy.default_cpu_guarantee) is above "
        "binderhub.jupyterhub.singleuser.cpu.limit (2, taken as "
        "ResourcePolicy.default_cpu_limit)",
        "ResourcePolicy.default_cpu_guarantee (4.0) is above "
        "ResourcePolicy.default_cpu_limit (2.0)",
    ),
    (
        "singleuser-memory-guarantee-above-limit",
        {"binderhub.jupyterhub.singleuser.memory": {"guarantee": "8G", "limit": "2G"}},
        "binderhub.jupyterhub.singleuser.memory.guarantee (8G, taken as "
        "ResourcePolicy.default_mem_guarantee) is above "
        "binderhub.jupyterhub.singleuser.memory.limit (2G, taken as "
        "ResourcePolicy.default_mem_limit)",
        "ResourcePolicy.default_mem_guarantee (8.0) is above "
        "ResourcePolicy.default_mem_limit (2.0)",
    ),
    (
        "policy-guarantee-above-limit",
        {
            f"{HUB_CONFIG}.ResourcePolicy": {
                "default_mem_guarantee": 4,
                "default_mem_limit": 2,
            }
        },
        f"{HUB_CONFIG}.ResourcePolicy.default_mem_guarantee (4.0) is above "
        f"{HUB_CONFIG}.ResourcePolicy.default_mem_limit (2.0)",
        "ResourcePolicy.default_mem_guarantee (4.0) is above "
        "ResourcePolicy.default_mem_limit (2.0)",
    ),
    (
        "policy-limit-above-cap",
        {f"{HUB_CONFIG}.ResourcePolicy": {"default_cpu_limit": 6, "max_cpu": 4}},
        f"{HUB_CONFIG}.ResourcePolicy.default_cpu_limit (6.0) is above "
        f"{HUB_CONFIG}.ResourcePolicy.max_cpu (4.0)",
        "ResourcePolicy.default_cpu_limit (6.0) is above ResourcePolicy.max_cpu (4.0)",
    ),
    (
        "chart-default-cpu-limit-above-cap",  # the file sets only the cap
        {f"{HUB_CONFIG}.ResourcePolicy.max_cpu": 4},
        "binderhub.jupyterhub.singleuser.cpu.limit (8, this chart's default, "
        f"taken as ResourcePolicy.default_cpu_limit) is above {HUB_CONFIG}"
        ".ResourcePolicy.max_cpu (4.0)",
        "ResourcePolicy.default_cpu_limit (8.0) is above ResourcePolicy.max_cpu (4.0)",
    ),
    (
        "singleuser-cpu-limit-above-cap",
        {
            "binderhub.jupyterhub.singleuser.cpu": {"guarantee": 1, "limit": 6},
            f"{HUB_CONFIG}.ResourcePolicy.max_cpu": 4,
        },
        "binderhub.jupyterhub.singleuser.cpu.limit (6, taken as "
        f"ResourcePolicy.default_cpu_limit) is above {HUB_CONFIG}.ResourcePolicy"
        ".max_cpu (4.0)",
        "ResourcePolicy.default_cpu_limit (6.0) is above ResourcePolicy.max_cpu (4.0)",
    ),
    (
        "singleuser-memory-limit-above-cap",
        {
            "binderhub.jupyterhub.singleuser.memory": {
                "guarantee": "1G",
                "limit": "12G",
            },
            f"{HUB_CONFIG}.ResourcePolicy.max_mem": 8,
        },
        "binderhub.jupyterhub.singleuser.memory.limit (12G, taken as "
        f"ResourcePolicy.default_mem_limit) is above {HUB_CONFIG}.ResourcePolicy"
        ".max_mem (8.0)",
        "ResourcePolicy.default_mem_limit (12.0) is above ResourcePolicy.max_mem (8.0)",
    ),
    (
        "kubespawner-memory-limit-above-cap",  # hub.config wins over singleuser
        {
            f"{HUB_CONFIG}.KubeSpawner.mem_limit": "32G",
            f"{HUB_CONFIG}.ResourcePolicy.max_mem": 24,
        },
        f"{HUB_CONFIG}.KubeSpawner.mem_limit (32G, taken as "
        f"ResourcePolicy.default_mem_limit) is above {HUB_CONFIG}.ResourcePolicy"
        ".max_mem (24.0)",
        "ResourcePolicy.default_mem_limit (32.0) is above "
        "ResourcePolicy.max_mem (24.0)",
    ),
]


def check_values(values: dict, tmp_path) -> subprocess.CompletedProcess:
    """`python -m pyconfig check --values` on these values, as an admin runs it."""
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pyconfig",
            "check",
            "--values",
            str(path),
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("changes", "checked", "at_start"),
    [c[1:] for c in RESOURCE_CONTRADICTIONS],
    ids=[c[0] for c in RESOURCE_CONTRADICTIONS],
)
def test_resource_contradictions_are_refused_by_the_check_and_the_hub(
    tmp_path, changes, checked, at_start
):
    """One rule, in Python: the chart renders, the check and the hub refuse."""
    values = with_changes(changes)
    assert chart.manifests(chart.render(values))
    result = check_values(values, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: ")
    assert checked in result.stderr
    with pytest.raises(ValueError, match="Persistent BinderHub configuration") as err:
        config_for(values, tmp_path / "hub")
    assert at_start in str(err.value)
    taken = re.search(
        r"\.(singleuser\.\w+\.\w+|KubeSpawner\.\w+) \(\S+, taken", checked
    )
    if taken:  # a derived default: the hub names where it came from too
        where = taken.group(1)
        trait = where.split(".", 1)[1] if where.startswith("KubeSpawner") else None
        assert (
            f"comes from KubeSpawner.{trait},"
            if trait
            else f"the chart's {where} unless"
        ) in str(err.value)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "binderhub.jupyterhub.singleuser.cpu": {"guarantee": 0.5, "limit": 3},
            "binderhub.jupyterhub.singleuser.memory": {
                "guarantee": "512M",
                "limit": "3G",
            },
        },
        {
            f"{HUB_CONFIG}.KubeSpawner.cpu_limit": 12,
            f"{HUB_CONFIG}.ResourcePolicy.default_mem_limit": 6,
        },
    ],
    ids=["minimal", "singleuser", "hub-config"],
)
def test_the_check_reads_the_policy_the_hub_builds(tmp_path, changes):
    """Defaults derived from singleuser (or hub.config.KubeSpawner) included;
    with none set, the chart's singleuser defaults are the traits' defaults."""
    values = with_changes(changes)
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    config, _ = config_for(values, tmp_path / "hub")
    names = ResourcePolicy.class_trait_names(config=True)
    hub = ResourcePolicy(config=config)
    checked = policy_from_values(path)
    assert {n: getattr(checked, n) for n in names} == {
        n: getattr(hub, n) for n in names
    }
    result = check_values(values, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", VALUES, ids=ids)
def test_make_lint_checks_the_hub_policy_of_every_values_file(path):
    assert chart_checks.hub_policy_problems(path) == []


def test_make_lint_reports_what_the_hub_would_refuse(tmp_path):
    path = tmp_path / "values.yaml"
    changes = {"binderhub.jupyterhub.singleuser.cpu": {"guarantee": 4, "limit": 2}}
    path.write_text(yaml.safe_dump(with_changes(changes)))
    [problem] = chart_checks.hub_policy_problems(path)
    assert problem.startswith(f"{path}: binderhub.jupyterhub.singleuser.cpu.")
    assert "is above binderhub.jupyterhub.singleuser.cpu.limit (2," in problem


def test_minimal_values_render():
    assert chart.manifests(chart.render(MINIMAL))


def pyconfig_configmaps(output: dict[str, str]) -> dict[str, dict[str, str]]:
    """ConfigMap name -> data, for the ConfigMaps of our pyconfig component."""
    return {
        o["metadata"]["name"]: o["data"]
        for o in chart.manifests(output)
        if o["kind"] == "ConfigMap"
        and o["metadata"]["labels"].get("app.kubernetes.io/component") == "pyconfig"
    }


def test_pyconfig_configmap_ships_the_package_and_the_schema(rendered):
    _, output = rendered
    configmaps = pyconfig_configmaps(output)
    package = ROOT / "pyconfig"
    expected = {
        "persistent-binderhub-pyconfig": {"__init__.py": package / "__init__.py"},
        "persistent-binderhub-pyconfig-resources": {
            p.name: p for p in (package / "resources").glob("*.py")
        }
        | {"resources.schema.json": package / "resources" / "resources.schema.json"},
        "persistent-binderhub-pyconfig-hub": {
            p.name: p for p in (package / "hub").glob("*.py")
        }
        | {"home.html": package / "hub" / "home.html"}
        | {"login.html": package / "hub" / "login.html"},
        "persistent-binderhub-pyconfig-binder": {
            p.name: p for p in (package / "binder").glob("*.py")
        }
        | {"page.css": package / "binder" / "page.css"}
        | {"page.html": package / "binder" / "page.html"}
        | {"page.js": package / "binder" / "page.js"},
    }
    assert {name: set(data) for name, data in configmaps.items()} == {
        name: set(files) for name, files in expected.items()
    }
    for name, files in expected.items():
        for key, path in files.items():
            assert configmaps[name][key] == path.read_text(encoding="utf-8"), key
    assert configmaps == pyconfig_volume.shipped_files()


def test_the_hub_gets_the_package_at_its_paths_without_the_admin_tools(
    rendered, tmp_path
):
    """Laid out as the kubelet projects the hub's volume: every hub-side
    file at its path in the package, and no admin module anywhere."""
    _, output = rendered
    pod = hub_pod(chart.manifests(output), tmp_path)
    mounted = pod.path("/usr/local/etc/persistent-binderhub/pyconfig")
    got = sorted(str(p.relative_to(mounted)) for p in mounted.rglob("*") if p.is_file())
    package = ROOT / "pyconfig"
    wanted = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*")
        if p.is_file()
        and p.suffix in (".py", ".json", ".html")
        and p.parent.name in ("pyconfig", "resources", "hub")
        and p.name != "__main__.py"
    )
    assert got == wanted
    admin = {p.name for p in (package / "admin").glob("*.py")} - {"__init__.py"}
    assert admin  # the admin tools exist, and
    for data in pyconfig_configmaps(output).values():
        assert not admin & set(data)  # none of them is shipped
        assert "__main__.py" not in data
    assert not (mounted / "admin").exists()
    assert not (mounted / "binder").exists()


def test_binderhub_gets_its_folder_and_nothing_else(rendered, tmp_path):
    """The binder pod's volume, laid out as the kubelet mounts it: binder/
    whole at pyconfig/binder, which our snippet imports through the
    namespace package pyconfig/ (no __init__.py there, nothing of the hub)."""
    _, output = rendered
    objects = chart.manifests(output)
    # The registry Secrets the admin creates, as placeholders.
    objects += registry_secret_standins(objects, "registry.invalid", "x", "x")
    pod, _, _ = binder_pod(objects, tmp_path, tmp_path / "kubeconfig")
    mounted = pod.path("/usr/local/etc/persistent-binderhub/pyconfig")
    got = sorted(str(p.relative_to(mounted)) for p in mounted.rglob("*") if p.is_file())
    package = ROOT / "pyconfig"
    wanted = sorted(
        f"binder/{p.name}"
        for p in (package / "binder").iterdir()
        if p.suffix in (".py", ".js", ".css", ".html")
    )
    assert got == wanted


def test_render_command_writes_the_stream_and_a_summary():
    result = subprocess.run(
        [sys.executable, "-m", "offline.chart", "values/minimal.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # Helm's INFO lines only with --verbose
    lines = result.stdout.splitlines()
    ours = ["persistent-binderhub", "ConfigMap", "persistent-binderhub-pyconfig"]
    assert any(line.split() == ours for line in lines)
    assert any(line.split() == ["jupyterhub", "Deployment", "hub"] for line in lines)
    written = ROOT / "build" / "rendered" / "minimal.yaml"
    documents = [d for d in yaml.safe_load_all(written.read_text()) if d]
    assert f"{len(documents)} objects for Kubernetes 1.28.0" in lines[-1]
    assert written.read_text().count("# Source: ") == len(documents)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no-such.yaml: no such values file"),
        ("binderhub: [\n", "bad.yaml:2:1: not valid YAML"),
        ("- a list\n", "bad.yaml: a values file is a mapping"),
    ],
)
def test_render_command_names_a_bad_values_file_in_one_line(tmp_path, content, message):
    path = tmp_path / ("no-such.yaml" if content is None else "bad.yaml")
    if content is not None:
        path.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "offline.chart", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def hub_pod_template(rendered: dict[str, str]) -> dict:
    hub = chart.find(chart.manifests(rendered), "Deployment", "hub")
    return hub["spec"]["template"]


def test_each_pod_carries_the_checksum_of_the_code_it_runs(rendered):
    _, output = rendered
    shipped = pyconfig_configmaps(output)
    objects = chart.manifests(output)
    for pod, name in (("hub", "hub"), ("binder", "binder")):
        template = chart.find(objects, "Deployment", name)["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        wanted = pyconfig_volume.checksum(pyconfig_volume.mounted_by(pod, shipped))
        assert annotations[pyconfig_volume.ANNOTATION] == wanted, pod


def test_the_checksum_in_the_chart_is_current():
    assert pyconfig_volume.main(["--check"]) == 0


def test_an_upgrade_with_new_hook_code_replaces_the_hub_pod(tmp_path):
    """Two versions of pyconfig/ give two hub pod templates, so Kubernetes
    rolls the hub and the new code runs (z2jh copies extraVolumes verbatim:
    the ConfigMap's name cannot carry the version)."""
    copy = tmp_path / "chart"
    shutil.copytree(chart.CHART, copy, symlinks=False)  # pyconfig/ as real files
    before = hub_pod_template(chart.render(MINIMAL, chart_dir=copy))
    hook = copy / "files" / "pyconfig" / "hub" / "spawn_hook.py"
    hook.write_text(hook.read_text() + "\n# version 2\n")
    assert pyconfig_volume.rewrite(copy) is True
    after = hub_pod_template(chart.render(MINIMAL, chart_dir=copy))
    assert before != after
    key = pyconfig_volume.ANNOTATION
    old, new = (t["metadata"]["annotations"][key] for t in (before, after))
    assert old != new
    # Offline, z2jh makes new random tokens in its Secret on every render
    # (`helm upgrade` reads the old ones back), so its checksum differs anyway.
    for template in (before, after):
        template["metadata"]["annotations"].pop(key)
        template["metadata"]["annotations"].pop("checksum/secret")
    assert before == after  # nothing else tells the two versions apart
