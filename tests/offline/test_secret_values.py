"""Secrets judged by their values: planted under key names the key-name filter
does not know, they reach the rendered release, and ``diff`` and ``preview``
print none of them (nor their base64)."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys

import pytest
import yaml

from offline import chart
from offline.secret_values import (
    RedactedLines,
    plainly_not_secret,
    redacted,
    secret_spans,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # renders releases, runs diff and preview

MINIMAL = ROOT / "values" / "minimal.yaml"
OPENSSH = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDplanted{side}keyQAAAAtzc2gtZWQyNTUxOQAAACBHv2Pl4nTeD\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


def fakes(side: str) -> dict[str, str]:
    """One secret of each shape, different on each side."""
    n = "1" if side == "a" else "2"
    return {
        "db": f"Pl4nted{n}DbPass",
        "github": f"ghp_{n}Rq8ZLm3Xv7Kp2Wt9Yb4Nc6Hd1Jf5Gs0Ue3A",
        "gitlab": f"glpat-{n}xY7kQ2pL9mZ4vB8nC3",
        "aws": f"AKIA{n}OSFODNN7EXAMPL",
        "slack": f"xoxb-{n}23456789012-AbCdEfGhIjKl",
        "jwt": f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{n}In0.Qm9ndXNTaWduYXR1cmU",
        "azure": f"Zm9vYmFyYmF6cXV4{n}pbGFudGVkYWNjb3VudGtleQ==",
        "random": f"Xk29fLq8ZpR3mVt7Wn4YbC6Hs1Jd5Ge0Ua2Qo9K{n}",
        "short": f"hunter{n}x",
        "key": OPENSSH.format(side=side),
    }


def planted(values: dict, f: dict[str, str]) -> dict:
    jupyterhub = values["binderhub"]["jupyterhub"]
    hub, singleuser = jupyterhub["hub"], jupyterhub["singleuser"]
    hub["db"] = {
        "type": "postgres",
        "url": f"postgresql+psycopg2://hub:{f['db']}@db.example.org:5432/hub",
    }
    hub["extraEnv"].update(
        {
            "GIT_ACCESS": f["github"],
            "STORAGE_CONN": "DefaultEndpointsProtocol=https;AccountName=acct;"
            f"AccountKey={f['azure']};EndpointSuffix=core.windows.net",
            "CI_JOB": f["jwt"],
            "LAB": {"value": f["gitlab"]},
            "PHRASE": f["short"],
        }
    )
    hub["annotations"] = {
        "example.org/deploy": base64.b64encode(f["key"].encode()).decode()
    }
    singleuser["extraEnv"] = {"CLOUD_ID": f["aws"], "HOOK": f["slack"]}
    singleuser["extraAnnotations"] = {"example.org/build": f["random"]}
    return values


def leaks(text: str, side: str) -> list[str]:
    """The planted secrets of a side found in ``text``, or their base64."""
    found = []
    for name, fake in fakes(side).items():
        secret = fake.splitlines()[2] if name == "key" else fake
        encoded = base64.b64encode(fake.encode()).decode()
        if secret in text or encoded in text:
            found.append(name)
    return found


def _rendered_text(values: dict) -> str:
    """The release as text, Secret data decoded: where the fakes reach."""
    objects = chart.manifests(chart.render(values))
    for obj in objects:
        for key, value in (obj.get("data") or {}).items():
            if obj["kind"] == "Secret":
                obj["data"][key] = base64.b64decode(value).decode(errors="replace")
    return json.dumps(objects)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    paths = {}
    for side in "ab":
        values = planted(yaml.safe_load(MINIMAL.read_text()), fakes(side))
        paths[side] = folder / f"{side}.yaml"
        paths[side].write_text(yaml.safe_dump(values))
    return paths


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "offline", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def diff(files):
    return _run("diff", str(files["a"]), str(files["b"]))


def test_the_planted_secrets_reach_the_rendered_release(files):
    """Without masking they would be printed: each is in the release."""
    text = _rendered_text(chart.load_values(files["a"]))
    for name, fake in fakes("a").items():
        if name == "key":
            fake = base64.b64encode(fake.encode()).decode()
        assert fake in text, name


def test_diff_prints_none_of_them(diff):
    assert diff.returncode == 1, diff.stderr
    printed = diff.stdout + diff.stderr
    assert leaks(printed, "a") == []
    assert leaks(printed, "b") == []


def test_diff_says_where_each_changed(diff):
    out = diff.stdout
    url = "postgresql+psycopg2://hub:{}@db.example.org:5432/hub"
    old, new = url.format("(secret)"), url.format("(changed)")
    row = f'  JupyterHub.db_url: "{old}" -> "{new}"'
    assert row in out.splitlines()
    assert "  KubeSpawner.environment.CLOUD_ID: (changed)" in out.splitlines()
    assert f"url: {url.format('(secret)')}\n" in out  # the hub Secret's values.yaml
    assert "-        STORAGE_CONN: (secret)\n" in out  # extraEnv: the whole value


def test_preview_prints_none_of_them(files, tmp_path):
    resources = tmp_path / ".resources"
    resources.write_text("cpur=1\n")
    result = _run(
        "preview",
        "--values",
        str(files["a"]),
        "--launch",
        "gh/a/b/HEAD",
        "--resources",
        str(resources),
    )
    assert result.returncode == 0, result.stderr
    assert leaks(result.stdout + result.stderr, "a") == []
    pod = next(yaml.safe_load_all(result.stdout))
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["CLOUD_ID"] == env["HOOK"] == "(secret)"
    assert env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"  # plain: shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("mysql://root:pw0rd@db/x", "mysql://root:(secret)@db/x"),
        ("Password=abc;Server=x", "Password=(secret);Server=x"),
        ("c.X.token_env = 'GITHUB_TOKEN'", "c.X.token_env = 'GITHUB_TOKEN'"),
        ("image: quay.io/jupyterhub/k8s-hub:4.2.0", None),
        ("namedServerLimitPerUser k8s_api_request_retry_timeout", None),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9ok", None),
        ("@sha256:" + "ab12" * 16, None),
        ("git token " + "ghp_" + "a1B2" * 9, "git token (secret)"),
        ("Authorization: Bearer abcdef123456", "Authorization: Bearer (secret)"),
    ],
)
def test_only_the_secret_part_is_masked(text, shown):
    assert redacted(text) == (text if shown is None else shown)


def test_env_values_show_only_when_plainly_not_secret():
    for plain in (
        "1",
        "true",
        "/srv/x",
        "http://hub:8081/hub/api",
        "binderhub",
        "INFO",
    ):
        assert plainly_not_secret(plain), plain
    for secret in ("hunter2", "x7Kq9pL2", "https://u:p@h", "AKIAIOSFODNN7EXAMPLE"):
        assert not plainly_not_secret(secret), secret
    assert secret_spans(base64.b64encode(OPENSSH.format(side="x").encode()).decode())


def test_the_hubs_log_lines_are_masked_line_by_line():
    """--verbose passes the hub's own log through this: a secret split over
    two writes is still caught, and nothing else is changed."""
    out = io.StringIO()
    lines = RedactedLines(out)
    lines.write("Connecting to postgresql://hub:s3cr3t-Pa55")
    lines.write("word@db.example.org/hub\nLoading extra config: 10-persistent")
    assert (
        out.getvalue() == "Connecting to postgresql://hub:(secret)@db.example.org/hub\n"
    )
    lines.flush()
    assert out.getvalue().endswith("Loading extra config: 10-persistent")
    assert "s3cr3t" not in out.getvalue()
