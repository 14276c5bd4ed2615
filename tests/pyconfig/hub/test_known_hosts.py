"""The known hosts shipped to notebooks match the services' published keys."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess

from tests.conftest import ROOT

KNOWN_HOSTS = ROOT / "chart" / "files" / "ssh_known_hosts"

# SHA256 fingerprints as GitHub and GitLab publish them in their documentation.
PUBLISHED = {
    "github.com": "+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
    "gist.github.com": "+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
    "gitlab.com": "eUXGGm1YGsMAS7vkcx6JOJdOGHPem5gQp4taiCfCLB8",
}


def entries() -> list[tuple[str, str, str]]:
    lines = KNOWN_HOSTS.read_text().splitlines()
    return [tuple(line.split()) for line in lines if line and not line.startswith("#")]


def test_every_published_host_has_a_key_with_its_published_fingerprint():
    found = {}
    for host, _kind, blob in entries():
        digest = hashlib.sha256(base64.b64decode(blob)).digest()
        found[host] = base64.b64encode(digest).decode().rstrip("=")
    assert found == PUBLISHED


def test_ssh_keygen_reads_the_file(tmp_path):
    keygen = shutil.which("ssh-keygen")
    assert keygen
    result = subprocess.run(
        [keygen, "-F", "gitlab.com", "-f", str(KNOWN_HOSTS)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "gitlab.com ssh-ed25519" in result.stdout
