"""``python -m offline diff A B`` and ``make diff``, as an admin runs them.

Each run renders both sides with the chart, runs z2jh's jupyterhub_config.py
on each and launches under each (a few seconds per side), so every pair is
run once per module and its tests read the same result.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from offline import chart
from offline.values_diff import NEW, SECRET, UNCHANGED, masked
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # each diff renders two releases, runs their hubs

MINIMAL = ROOT / "values" / "minimal.yaml"
SECTIONS = ("1. Rendered objects", "2. Effective hub configuration", "3. Sample launch")
#: Different on the two sides of the secrets test; must never be printed.
FAKES = {
    side: {
        "proxy": f"proxy-token-{side}-4f1c9e",
        "service": f"service-token-{side}-77ab01",
        "client": f"github-client-secret-{side}-d00d",
        "env": f"hub-env-token-{side}-a5a5",
        "env_dict": f"hub-env-password-{side}-b6b6",
        "notebook": f"notebook-token-{side}-c7c7",
        "db": f"db-password-{side}-e8e8",
        "file": f"settings-file-{side}-0a0a",
        "key": f"-----BEGIN OPENSSH PRIVATE KEY-----\nkey-body-{side}-f9f9\n"
        "-----END OPENSSH PRIVATE KEY-----\n",
    }
    for side in "ab"
}


def run(*args: str, stdin: str | None = None, make: bool = False):
    command = (
        ["make", "-s", "diff", *args]
        if make
        else [sys.executable, "-m", "offline", "diff", *args]
    )
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def minimal_with(tmp: Path, name: str, change) -> Path:
    values = yaml.safe_load(MINIMAL.read_text())
    change(values["binderhub"]["jupyterhub"])
    path = tmp / name
    path.write_text(yaml.safe_dump(values))
    return path


def minimal_with_values(tmp: Path, name: str, change) -> Path:
    values = yaml.safe_load(MINIMAL.read_text())
    change(values)
    path = tmp / name
    path.write_text(yaml.safe_dump(values))
    return path


def section(output: str, number: int) -> str:
    """The text of one numbered section of the output."""
    start = output.index(f"\n{number}. ")
    end = output.find(f"\n{number + 1}. ", start)
    return output[start : end if end > 0 else None]


def _changes(jupyterhub: dict) -> None:
    jupyterhub["cull"] = {"timeout": 3600}
    config = jupyterhub["hub"]["config"]
    # max_gpu: 2 is the default: set, but no change.
    config["ResourcePolicy"] = {"max_cpu": 16, "max_gpu": 2}
    config["KubeSpawner"] = {"start_timeout": 600}
    config["GenericOAuthenticator"]["username_claim"] = "email"
    jupyterhub["singleuser"]["memory"] = {"limit": "4G", "guarantee": "1G"}


@pytest.fixture(scope="module")
def same():
    return run("values/cerit.yaml", "values/cerit.yaml")


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    new = minimal_with(tmp_path_factory.mktemp("changed"), "new.yaml", _changes)
    return run(str(MINIMAL), str(new))


@pytest.fixture(scope="module")
def secrets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("secrets")

    def carrying(fakes):
        def change(jupyterhub: dict) -> None:
            hub = jupyterhub["hub"]
            jupyterhub["proxy"] = {"secretToken": fakes["proxy"]}
            hub["services"]["binder"]["apiToken"] = fakes["service"]
            hub["config"]["GitHubOAuthenticator"] = {"client_secret": fakes["client"]}
            hub["extraEnv"]["MY_API_TOKEN"] = fakes["env"]
            hub["extraEnv"]["OTHER_PASSWORD"] = {"value": fakes["env_dict"]}
            hub["db"] = {"password": fakes["db"]}
            hub["extraFiles"] = {
                "deploy-key": {
                    "mountPath": "/etc/deploy/id",
                    "stringData": fakes["key"],
                },
                "settings": {
                    "mountPath": "/etc/x/settings",
                    "stringData": fakes["file"],
                },
            }
            jupyterhub["singleuser"]["extraEnv"] = {"NOTEBOOK_TOKEN": fakes["notebook"]}

        return change

    a = minimal_with(folder, "a.yaml", carrying(FAKES["a"]))
    b = minimal_with(folder, "b.yaml", carrying(FAKES["b"]))
    return run(str(a), str(b))


def test_the_same_values_twice_change_nothing(same):
    assert same.returncode == 0, same.stderr
    assert same.stderr == ""  # no Helm, z2jh or hub log lines
    for title in SECTIONS:
        [line] = [x for x in same.stdout.splitlines() if x.startswith(title)]
        assert line.endswith(": no change"), line


def test_helm_would_generate_new_hub_secrets_at_each_render():
    """Why the diff fixes them: without that, equal values would differ."""
    values = chart.load_values(MINIMAL)
    first, second = (
        chart.find(chart.manifests(chart.render(values)), "Secret", "hub")
        for _ in range(2)
    )
    differ = {k for k in first["data"] if first["data"][k] != second["data"][k]}
    assert "hub.config.JupyterHub.cookie_secret" in differ


def test_changed_values_exit_1_naming_each_trait_old_and_new(changed):
    assert changed.returncode == 1, changed.stderr
    config = section(changed.stdout, 2)
    for line in (
        "  idle culler --timeout: 604800 -> 3600",
        "  ResourcePolicy.max_cpu: (default) 32.0 -> 16",
        "  KubeSpawner.start_timeout: 300 -> 600",
        '  KubeSpawner.mem_limit: "16G" -> "4G"',
        "  ResourcePolicy.default_mem_limit: 16.0 -> 4.0",
        '  GenericOAuthenticator.username_claim: "preferred_username" -> "email"',
    ):
        assert line in config.splitlines(), config
    assert "--cull-every" not in config  # unchanged options are not listed
    assert "max_gpu" not in config  # set to its default: the same effect


def test_changed_values_show_the_objects_and_the_pods_memory_limit(changed):
    objects = section(changed.stdout, 1)
    assert "  changed: Secret/hub" in objects
    assert "-        checksum/secret: (secret)" in objects  # the hub pod restarts
    assert "+        checksum/secret: (changed)" in objects
    assert "+      timeout: 3600" in objects  # the decoded values.yaml
    launch = section(changed.stdout, 3)
    assert "--- A Pod/jupyter-user--requirements-preview" in launch
    assert f"-        memory: {16 * 1024**3}" in launch
    assert f"+        memory: {4 * 1024**3}" in launch
    assert "PersistentVolumeClaim" not in launch  # storage did not change


def test_secret_values_never_appear_only_that_they_changed(secrets):
    assert secrets.returncode == 1, secrets.stderr
    printed = secrets.stdout + secrets.stderr
    for fakes in FAKES.values():
        for name, fake in fakes.items():
            body = fake.splitlines()[1] if name == "key" else fake
            assert body not in printed, name
            assert base64.b64encode(fake.encode()).decode() not in printed, name
    config = section(secrets.stdout, 2).splitlines()
    for line in (
        "  GitHubOAuthenticator.client_secret: (changed)",
        "  JupyterHub.services[binder].api_token: (changed)",
        "  KubeSpawner.environment.NOTEBOOK_TOKEN: (changed)",
    ):
        assert line in config
    objects = section(secrets.stdout, 1)
    assert "+  hub.services.binder.apiToken: (changed)" in objects
    assert "   hub.config.JupyterHub.cookie_secret: (unchanged)" in objects
    assert "+        checksum/auth-token: (changed)" in objects
    assert "+          value: (changed)" in objects  # MY_API_TOKEN in the hub pod
    launch = section(secrets.stdout, 3)
    assert "-      value: (secret)\n+      value: (changed)" in launch


def test_stdin_with_helm_get_values_header_through_make():
    text = "USER-SUPPLIED VALUES:\n" + MINIMAL.read_text()
    result = run("A=-", f"B={MINIMAL}", stdin=text, make=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"A: stdin\nB: {MINIMAL}\n")
    assert result.stdout.count(": no change") == 3


def test_a_refused_launch_is_shown_with_its_message(tmp_path):
    def no_gpus(jupyterhub: dict) -> None:
        jupyterhub["hub"]["config"]["ResourcePolicy"] = {"max_gpu": 0}

    new = minimal_with(tmp_path, "no-gpus.yaml", no_gpus)
    resources = tmp_path / ".resources"
    resources.write_text("gpu=1\n")
    result = run(str(MINIMAL), str(new), "--resources", str(resources))
    assert result.returncode == 1, result.stderr
    launch = section(result.stdout, 3)
    assert f"  B ({new}) refuses the launch, saying:" in launch
    assert "ResourcePolicy.max_gpu" in launch
    assert "A (" not in launch


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ("values/nope.yaml", str(MINIMAL)),
            None,
            "error: values/nope.yaml: no such values file\n",
        ),
        (("-", str(MINIMAL)), "a: [\n", "error: stdin:2:1: not valid YAML"),
        (("-", "-"), "", "error: only one side can be - (stdin)\n"),
        (
            (str(MINIMAL), str(MINIMAL), "--launch", "zenodo/1"),
            None,
            "error: cannot read 'zenodo/1'",
        ),
    ],
)
def test_errors_exit_2_with_one_line_naming_the_file(args, stdin, message):
    result = run(*args, stdin=stdin)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert result.stdout == ""


def test_values_the_chart_refuses_name_the_file(tmp_path):
    def bad(jupyterhub: dict) -> None:
        jupyterhub["hub"]["config"]["UserStorage"] = {"capacity": "lots"}

    path = minimal_with(tmp_path, "bad.yaml", bad)
    result = run(str(MINIMAL), str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}: ")
    assert "capacity" in result.stderr and "Traceback" not in result.stderr


def test_make_diff_without_both_files_prints_its_usage():
    result = run("A=values/minimal.yaml", make=True)
    assert result.returncode == 2
    assert "usage: make diff A=OLD.yaml B=NEW.yaml" in result.stderr


def test_masking_keeps_references_and_flags_and_hides_values():
    env = [
        {"name": "GITHUB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "t"}}},
        {"name": "MY_TOKEN", "value": "a"},
        {"name": "HOME", "value": "/h"},
    ]
    other = [dict(e) for e in env]
    other[1] = {"name": "MY_TOKEN", "value": "b"}
    left, right = masked(
        {"env": env, "automount_token": True}, {"env": other, "automount_token": False}
    )
    assert left["env"][0] == env[0]  # a reference to a Secret is shown
    assert (left["env"][1]["value"], right["env"][1]["value"]) == (SECRET, NEW)
    assert left["env"][2] == env[2]
    assert (left["automount_token"], right["automount_token"]) == (True, False)
    pem = "-----BEGIN RSA PRIVATE KEY-----\nabc\n"
    assert masked({"file": pem}, {"file": pem}) == ({"file": UNCHANGED},) * 2
    assert masked({}, {"password": "x"}) == ({}, {"password": SECRET})
    encoded = base64.b64encode(b"x").decode()
    assert masked([{"cookie_secret": encoded}], [])[0] == [{"cookie_secret": SECRET}]


def test_the_sample_launch_goes_through_each_sides_admission(tmp_path):
    """As preview: a quota turned on brings its LimitRange, which gives
    z2jh's block-cloud-metadata init container limits; a quota too small for
    the launch makes the side refuse it in the API server's words."""

    def quota(cpu: str):
        def change(values: dict) -> None:
            values["persistentBinderhub"] = {
                "resourceQuota": {"enabled": True, "cpu": cpu}
            }

        return change

    roomy = minimal_with_values(tmp_path, "roomy.yaml", quota("64"))
    result = run(str(MINIMAL), str(roomy))
    assert result.returncode == 1, result.stderr
    launch = section(result.stdout, 3)
    # The LimitRange's containerDefaults, added where the init container had none.
    assert "+      limits:\n+        cpu: '1'\n+        memory: 1Gi" in launch, launch
    assert "+        cpu: 50m\n+        memory: 128Mi" in launch
    tight = minimal_with_values(tmp_path, "tight.yaml", quota("1"))
    result = run(str(MINIMAL), str(tight))
    assert result.returncode == 1, result.stderr
    launch = section(result.stdout, 3)
    assert f"  B ({tight}) refuses the launch, saying:" in launch
    assert "the namespace refuses" in launch and "exceeded quota" in launch


def test_at_a_terminal_it_says_what_it_is_doing(tmp_path):
    """stderr a terminal (a pseudo-terminal here): one line per side before
    its ten seconds; stdout keeps only the report."""
    import os
    import pty

    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "offline",
                "diff",
                "values/minimal.yaml",
                "values/minimal.yaml",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=300,
        )
        os.close(terminal)
        said = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            said += chunk
    finally:
        os.close(controller)
    assert result.returncode == 0, said
    lines = said.decode().splitlines()
    assert lines == [
        f"{side}: rendering values/minimal.yaml, running its hub's configuration "
        "and the sample launch..."
        for side in "AB"
    ]
    assert "rendering" not in result.stdout
