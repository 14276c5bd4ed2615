"""Release hygiene: the license, the chart's metadata, the changelog, the
version numbers that must agree, and the schema line editors read in values/.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from pyconfig import __version__
from tests.conftest import ROOT

CHART_YAML = ROOT / "chart" / "Chart.yaml"
CHANGELOG = ROOT / "CHANGELOG.md"
LICENSE = ROOT / "LICENSE"
VALUES = sorted((ROOT / "values").glob("*.yaml"))
SCHEMA_LINE = re.compile(r"# yaml-language-server: \$schema=(\S+)")
URL = re.compile(r"""[a-z][a-z0-9+.-]*://[^\s"'<>)\]]+""", re.IGNORECASE)
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
)
#: Keep a Changelog's kinds of change (also Artifact Hub's), and ours.
KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
UPGRADING = "Upgrading"
#: The BSD 3-Clause License after its copyright line (SPDX BSD-3-Clause).
BSD_3_CLAUSE = """
Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:
1. Redistributions of source code must retain the above copyright notice, this
list of conditions and the following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice,
this list of conditions and the following disclaimer in the documentation
and/or other materials provided with the distribution.
3. Neither the name of the copyright holder nor the names of its
contributors may be used to endorse or promote products derived from
this software without specific prior written permission.
THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""


def words(text: str) -> str:
    """Text with its whitespace (line breaks, indentation) made single spaces."""
    return " ".join(text.split())


def plain(text: str) -> str:
    """A changelog entry as Artifact Hub shows it: no Markdown code marks."""
    return words(text.replace("`", ""))


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def chart_meta() -> dict:
    return yaml.safe_load(CHART_YAML.read_text(encoding="utf-8"))


def annotation(name: str):
    """An Artifact Hub annotation, parsed where its value is YAML text."""
    value = chart_meta().get("annotations", {})[name]
    return yaml.safe_load(value) if "\n" in value else value


def changelog() -> dict[str, dict[str, list[str]]]:
    """{release heading: {subheading: [entry, ...]}}; "" holds the text before
    the first subheading (a release's notes, or the policy's bullets)."""
    releases: dict[str, dict[str, list[str]]] = {}
    section = part = None
    for line in CHANGELOG.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = releases.setdefault(line[3:].strip(), {"": []})
            part = section[""]
        elif line.startswith("### ") and section is not None:
            part = section.setdefault(line[4:].strip(), [])
        elif part is None:
            continue
        elif line.startswith("- "):
            part.append(line[2:])
        elif line.startswith("  ") and part:
            part[-1] += " " + line.strip()
        elif line.strip():
            part.append(line)
    return {
        heading: {
            sub: [words(entry) for entry in entries] for sub, entries in parts.items()
        }
        for heading, parts in releases.items()
    }


def release_of_chart_version() -> dict[str, list[str]]:
    """The changelog's release for the chart's version, Unreleased before it
    is cut."""
    releases = changelog()
    version = str(chart_meta()["version"])
    for heading, parts in releases.items():
        if heading.startswith(f"[{version}]"):
            return parts
    return releases["[Unreleased]"]


# LICENSE


def test_license_is_the_bsd_3_clause_text():
    title, _, rest = LICENSE.read_text(encoding="utf-8").strip().partition("\n")
    assert title == "BSD 3-Clause License"
    copyright_line, _, body = rest.strip().partition("\n")
    assert re.fullmatch(
        r"Copyright \(c\) 20\d\d(-20\d\d)?, the Persistent BinderHub contributors",
        copyright_line,
    )
    assert words(body) == words(BSD_3_CLAUSE)


def test_the_package_declares_the_license_it_ships():
    project = pyproject()["project"]
    assert project["license"] == "BSD-3-Clause"  # SPDX, as the LICENSE text is
    assert "LICENSE" in project["license-files"]
    for pattern in project["license-files"]:
        assert list(ROOT.glob(pattern)), f"license-files {pattern!r} matches nothing"
    assert annotation("artifacthub.io/license") == project["license"]


# Chart.yaml


def test_chart_has_its_metadata():
    meta = chart_meta()
    for key in ("description", "home", "sources", "icon", "keywords", "maintainers"):
        assert meta.get(key), f"Chart.yaml needs {key}"
    assert {"jupyterhub", "binderhub", "kubernetes"} <= set(meta["keywords"])
    for maintainer in meta["maintainers"]:
        assert maintainer.get("name") and maintainer.get("email")
    links = annotation("artifacthub.io/links")
    assert links and all(link.get("name") and link.get("url") for link in links)


def strings(node) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return [node] if isinstance(node, str) else []


def test_every_address_of_the_project_is_invalid_until_it_has_a_public_home():
    """home, sources, icon, maintainers, the Artifact Hub links: all at a
    `.invalid` host (RFC 2606), never at a real host someone else may own.
    The dependencies' repositories are upstream's and are left out."""
    meta = chart_meta()
    meta.pop("dependencies", None)
    texts = strings(meta)
    texts += strings(annotation("artifacthub.io/links"))
    urls = [url for text in texts for url in URL.findall(text)]
    assert meta["home"] in urls and meta["icon"] in urls
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme == "https", url
        assert (parts.hostname or "").endswith(".invalid"), url
    for maintainer in meta["maintainers"]:
        assert maintainer["email"].rpartition("@")[2].endswith(".invalid")


def test_app_version_is_pyconfigs_version():
    meta = chart_meta()
    assert isinstance(meta["appVersion"], str)  # quoted: 1.10 is not 1.1
    assert meta["appVersion"] == __version__
    assert pyproject()["project"]["version"] == __version__


def test_chart_version_is_semver_and_prerelease_while_major_is_zero():
    version = chart_meta()["version"]
    assert isinstance(version, str) and SEMVER.fullmatch(version), version
    initial = version.startswith("0.") or "-" in version
    assert annotation("artifacthub.io/prerelease") == str(initial).lower()


def test_artifact_hub_changes_are_the_changelog_entries_of_this_version():
    release = release_of_chart_version()
    expected = sorted(
        (kind.lower(), plain(entry))
        for kind in KINDS
        for entry in release.get(kind, [])
    )
    changes = annotation("artifacthub.io/changes")
    assert sorted((c["kind"], words(c["description"])) for c in changes) == expected


# CHANGELOG.md


def test_changelog_states_the_version_policy():
    policy = " ".join(changelog()["Version policy"][""])
    for needed in (
        "Semantic Versioning",
        "`version`",
        "`appVersion`",
        "`__version__`",
        "**Upgrading**",
    ):
        assert needed in policy, f"the version policy should mention {needed}"


def test_changelog_has_an_unreleased_section_with_upgrading_notes():
    unreleased = changelog()["[Unreleased]"]
    assert unreleased.get(UPGRADING), "Unreleased needs an Upgrading list"
    text = " ".join(unreleased[UPGRADING])
    for setting in (
        "auth_state_groups_key",
        "allowed_groups",
        "consecutiveFailureLimit: 0",
        "Launcher.retries: 1",
        "ServerQuota.refusal_delay",
    ):
        assert setting in text


def test_changelog_releases_and_their_headings_are_well_formed():
    releases = [h for h in changelog() if h != "Version policy"]
    assert releases[0] == "[Unreleased]"
    for heading in releases[1:]:
        assert re.fullmatch(r"\[([^\]]+)\] - \d{4}-\d{2}-\d{2}", heading), heading
        assert SEMVER.fullmatch(heading[1 : heading.index("]")]), heading
    for heading in releases:
        for sub in changelog()[heading]:
            assert sub in ("", UPGRADING, *KINDS), f"{heading}: ### {sub}"


# values/


@pytest.mark.parametrize("path", VALUES, ids=[p.name for p in VALUES])
def test_values_files_name_the_chart_schema_for_editors(path: Path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = SCHEMA_LINE.fullmatch(first)
    assert match, f"{path.name} should start with `# yaml-language-server: ...`"
    schema = (path.parent / match.group(1)).resolve()
    assert schema.is_file(), f"{path.name}: {match.group(1)} does not exist"
    assert schema == (ROOT / "chart" / "values.schema.json").resolve()


@pytest.mark.parametrize("path", VALUES, ids=[p.name for p in VALUES])
def test_an_editor_checking_a_values_file_alone_finds_nothing(path: Path):
    """What yaml-language-server does with that line: the file alone, not
    merged over the chart's defaults as Helm checks it."""
    import json

    import jsonschema

    schema = json.loads((ROOT / "chart" / "values.schema.json").read_text())
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(values)
    ]
    assert problems == []
