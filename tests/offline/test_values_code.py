"""diff and preview never run Python a values file brings: hub.extraConfig
snippets it adds or rewrites, nor files it mounts where the hub loads code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from offline import chart
from offline.values_code import chart_code_only, chart_snippets
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # renders releases, runs diff and preview

MINIMAL = ROOT / "values" / "minimal.yaml"


def _snippet(marker) -> str:
    return f"open({str(marker)!r}, 'w').write('ran')\n"


def with_code(tmp_path, extra: dict) -> tuple:
    values = yaml.safe_load(MINIMAL.read_text())
    values["binderhub"]["jupyterhub"]["hub"]["extraConfig"] = extra
    path = tmp_path / "code.yaml"
    path.write_text(yaml.safe_dump(values))
    return path, values


def _run(*args: str, home) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "offline", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(home)},
    )


def test_the_chart_ships_its_own_snippets():
    snippets = chart_snippets(chart.CHART)
    assert {"0-binderspawnermixin", "00-binder", "10-persistent-binderhub"} <= set(
        snippets
    )


def test_a_snippet_the_values_add_would_run_and_is_taken_out(tmp_path):
    marker = tmp_path / "ran"
    _, values = with_code(tmp_path, {"99-mine": _snippet(marker)})
    objects = chart.manifests(chart.render(values))
    secret = chart.find(objects, "Secret", "hub")["data"]["values.yaml"]
    assert secret  # the snippet is in the render: z2jh would run it
    kept, skipped = chart_code_only(objects, chart.CHART)
    assert skipped == ["hub.extraConfig.99-mine"]
    assert chart_code_only(kept, chart.CHART)[1] == []  # the chart's stay


def test_a_chart_key_given_other_code_is_not_run(tmp_path):
    marker = tmp_path / "ran"
    own = chart_snippets(chart.CHART)["10-persistent-binderhub"]
    _, values = with_code(tmp_path, {"10-persistent-binderhub": own})
    objects = chart.manifests(chart.render(values))
    assert chart_code_only(objects, chart.CHART)[1] == []  # the same code: runs
    _, values = with_code(tmp_path, {"10-persistent-binderhub": _snippet(marker)})
    objects = chart.manifests(chart.render(values))
    assert chart_code_only(objects, chart.CHART)[1] == [
        "hub.extraConfig.10-persistent-binderhub"
    ]


def test_a_values_mount_where_the_hub_loads_code_is_left_out(tmp_path):
    values = yaml.safe_load(MINIMAL.read_text())
    values["binderhub"]["jupyterhub"]["hub"]["extraFiles"] = {
        "evil": {
            "mountPath": "/usr/local/etc/jupyterhub/jupyterhub_config.d/evil.py",
            "stringData": "raise SystemExit('ran')\n",
        }
    }
    objects = chart.manifests(chart.render(values))
    assert chart_code_only(objects, chart.CHART)[1] == [
        "hub mount /usr/local/etc/jupyterhub/jupyterhub_config.d/evil.py"
    ]


@pytest.mark.parametrize("command", ["diff", "preview"])
def test_diff_and_preview_run_none_of_it_and_say_so(tmp_path, command):
    marker = tmp_path / "home" / "ran"
    marker.parent.mkdir()
    path, _ = with_code(tmp_path, {"99-mine": _snippet(marker)})
    args = (
        ("diff", str(MINIMAL), str(path))
        if command == "diff"
        else ("preview", "--values", str(path), "--launch", "gh/a/b/HEAD")
    )
    result = _run(*args, home=marker.parent)
    assert not marker.exists()
    assert result.returncode in (0, 1), result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("note: ")]
    assert line.startswith(f"note: {path}: not run") and "99-mine" in line


def test_the_pyconfig_volume_pointed_elsewhere_is_left_out(tmp_path):
    """The values can point the chart's pyconfig volume at a Secret they fill
    (hub.extraFiles lands in the hub Secret): the mount is then not the
    chart's code, and is taken out; the chart's own volume is kept."""
    values = yaml.safe_load(MINIMAL.read_text())
    hub = values["binderhub"]["jupyterhub"]["hub"]
    code = {"mountPath": "/tmp/unused", "stringData": "raise SystemExit('ran')\n"}
    hub["extraFiles"] = {"code": code}
    theirs = {"secretName": "hub", "items": [{"key": "code", "path": "hub/x.py"}]}
    hub["extraVolumes"] = [{"name": "persistent-binderhub-pyconfig", "secret": theirs}]
    objects = chart.manifests(chart.render(values))
    pod = chart.find(objects, "Deployment", "hub")["spec"]["template"]["spec"]
    assert theirs in [v.get("secret") for v in pod["volumes"]]
    assert chart_code_only(objects, chart.CHART)[1] == [
        "hub volume persistent-binderhub-pyconfig (not the chart's) at "
        "/usr/local/etc/persistent-binderhub/pyconfig"
    ]
    unchanged = chart.manifests(chart.render(yaml.safe_load(MINIMAL.read_text())))
    assert chart_code_only(unchanged, chart.CHART)[1] == []


@pytest.mark.parametrize("command", ["diff", "preview"])
def test_asked_for_it_runs_in_a_child_without_the_admins_environment(tmp_path, command):
    """--run-extra-config: the snippet runs, in a process that got none of
    the admin's variables (a KUBECONFIG and a cloud key planted here), in a
    new empty HOME that is its working directory and is gone afterwards."""
    report = tmp_path / "report.json"
    snippet = (
        "import json, os\n"
        f"open({str(report)!r}, 'w').write(json.dumps({{'env': dict(os.environ), "
        "'cwd': os.getcwd(), 'home': os.listdir(os.environ['HOME'])}))\n"
    )
    path, _ = with_code(tmp_path, {"99-mine": snippet})
    args = (
        ("diff", "--run-extra-config", "-", str(path))
        if command == "diff"
        else (
            "preview",
            "--run-extra-config",
            "--values",
            str(path),
            "--launch",
            "gh/a/b/HEAD",
        )
    )
    home = tmp_path / "admin-home"
    home.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "offline", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        input=MINIMAL.read_text(),
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "HOME": str(home),
            "KUBECONFIG": str(home / "kubeconfig"),
            "AWS_SECRET_ACCESS_KEY": "planted-by-the-test",
        },
    )
    assert result.returncode in (0, 1), result.stderr
    assert "not run" not in result.stderr
    seen = json.loads(report.read_text())
    env = seen["env"]
    assert "KUBECONFIG" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["HOME"] != str(home) and seen["cwd"] == env["HOME"]
    assert not Path(env["HOME"]).exists()  # removed afterwards
    assert "planted-by-the-test" not in result.stdout + result.stderr
