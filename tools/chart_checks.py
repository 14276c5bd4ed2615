"""The checks every rendered release must pass, for `make lint` and the tests.

    python -m tools.chart_checks [VALUES ...]   # default: every file in values/

For each values file and for Kubernetes 1.28 (the oldest supported) and the
newest release kubernetes-validate knows: `helm lint --strict` with the
subcharts, `kubernetes-validate --strict` on every object, yamllint on the
`helm template` stream, and checkov; and for each values file what `python
-m pyconfig check --values` finds (resource amounts that contradict each
other: the hub's Python refuses them at start, the chart leaves them to
it). checkov findings must be reviewed in
tools/checkov-reviewed.yaml, ours and upstream's apart, each with a reason;
a reviewed finding that no longer occurs is reported too, so the list stays
true.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from offline import chart
from pyconfig.admin.chart_values import ValuesError, checked_policy_from_values

ROOT = chart.ROOT
VALUES = sorted((ROOT / "values").glob("*.yaml"))
VERSIONS = (chart.KUBE_VERSION, chart.NEWEST_KUBE_VERSION)
OURS = "persistent-binderhub"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
REVIEWED = ROOT / "tools" / "checkov-reviewed.yaml"
#: yamllint on rendered output. Line length is off because ConfigMaps carry
#: files (Python, a JSON schema) whose lines are not YAML structure. Upstream's
#: objects get yamllint's own `relaxed` rules (syntax, duplicate keys,
#: structure; its warnings about the house style of their templates do not
#: fail), without trailing spaces: z2jh embeds its Python files with
#: `nindent`, which indents blank lines. Ours meet the default rules, strictly.
YAMLLINT_OURS = "{extends: default, rules: {line-length: disable}}"
YAMLLINT_UPSTREAM = (
    "{extends: relaxed, rules: {line-length: disable, trailing-spaces: disable}}"
)

Finding = tuple[str, str]  # (checkov check id, resource)


@dataclass
class Render:
    """One values file rendered for one Kubernetes version."""

    values_path: Path
    kube_version: str
    rendered: dict[str, str]
    owners: dict[str, str] = field(default_factory=dict)  # resource -> chart

    @property
    def objects(self) -> list[dict[str, Any]]:
        return chart.manifests(self.rendered)

    @property
    def stream(self) -> str:
        return chart.stream(self.rendered)

    @property
    def label(self) -> str:
        return f"{self.values_path.name} @ {chart.full_version(self.kube_version)}"


def render(values_path: Path, kube_version: str) -> Render:
    rendered = chart.render(chart.load_values(values_path), kube_version)
    owners = {
        f"{obj['kind']}.{obj['metadata'].get('name', '')}": chart.chart_of(template)
        for template, obj in chart.sources(rendered)
    }
    return Render(values_path, kube_version, rendered, owners)


def kubernetes_problems(one: Render) -> list[str]:
    """kubernetes-validate --strict on every object (unknown fields refused)."""
    problems = []
    for obj in one.objects:
        try:
            kubernetes_validate.validate(obj, one.kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
            problems.append(f"{name}: {error.message}")
    return problems


def lint_problems(one: Render) -> list[str]:
    return chart.lint(chart.load_values(one.values_path), one.kube_version)


def hub_policy_problems(values_path: Path) -> list[str]:
    """What `python -m pyconfig check --values` refuses: the ResourcePolicy
    the hub would build (defaults derived from singleuser.cpu/.memory
    included) and would not start with."""
    try:
        checked_policy_from_values(values_path)
    except ValuesError as error:
        return [str(error)]
    return []


def yamllint_problems(one: Render) -> list[str]:
    ours = {k: v for k, v in one.rendered.items() if chart.chart_of(k) == OURS}
    theirs = {k: v for k, v in one.rendered.items() if k not in ours}
    problems = []
    with tempfile.TemporaryDirectory() as folder:
        for side, part, config, strict in (
            ("ours", ours, YAMLLINT_OURS, ["--strict"]),
            ("upstream", theirs, YAMLLINT_UPSTREAM, []),
        ):
            target = Path(folder) / f"{side}.yaml"
            target.write_text(chart.stream(part), encoding="utf-8")
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "yamllint",
                    *strict,
                    "-f",
                    "parsable",
                    "-d",
                    config,
                    str(target),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            problems += [
                f"{side}: {line.split(':', 1)[1]}"
                for line in result.stdout.splitlines()
                if line and (strict or "[error]" in line)
            ]
    return problems


def checkov_findings(renders: Iterable[Render]) -> dict[str, set[Finding]]:
    """label -> failed (check, resource) pairs; one checkov run for them all."""
    if not CHECKOV.exists():
        raise RuntimeError("checkov is not installed: run `make setup`")
    renders = list(renders)
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        command = [
            str(CHECKOV),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--output",
            "json",
        ]
        for index, one in enumerate(renders):
            path = Path(folder) / f"{index}.yaml"
            path.write_text(one.stream, encoding="utf-8")
            files[path.name] = one.label
            command += ["--file", str(path)]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=900, check=False
        )
    report = json.loads(result.stdout or "{}")
    found: dict[str, set[Finding]] = {one.label: set() for one in renders}
    for part in report if isinstance(report, list) else [report]:
        for check in part.get("results", {}).get("failed_checks", []):
            label = files[Path(check["file_path"]).name]
            found[label].add((check["check_id"], check["resource"]))
    return found


def owner(resource: str, one: Render) -> str:
    """The chart that rendered a checkov resource ("Kind.namespace.name...")."""
    kind, _, rest = resource.partition(".")
    _, _, name_and_labels = rest.partition(".")
    for key, chart_name in one.owners.items():
        object_kind, _, object_name = key.partition(".")
        if object_kind in (kind, "Deployment", "DaemonSet", "StatefulSet") and (
            name_and_labels == object_name
            or name_and_labels.startswith(object_name + ".")
        ):
            return chart_name
    return "?"


def reviewed() -> dict[str, dict[str, dict[str, Any]]]:
    """{"ours"|"upstream": {check id: {"reason": ..., "resources": [...]}}}."""
    data = yaml.safe_load(REVIEWED.read_text(encoding="utf-8")) or {}
    for side in ("ours", "upstream"):
        for check, entry in (data.get(side) or {}).items():
            if not str(entry.get("reason") or "").strip():
                raise ValueError(f"{REVIEWED.name}: {side}.{check} needs a reason")
    return {side: data.get(side) or {} for side in ("ours", "upstream")}


def unreviewed(findings: dict[str, set[Finding]], renders: list[Render]) -> list[str]:
    review = reviewed()
    by_label = {one.label: one for one in renders}
    problems = []
    for label, found in findings.items():
        for check, resource in sorted(found):
            side = "ours" if owner(resource, by_label[label]) == OURS else "upstream"
            entry = review[side].get(check) or {}
            if resource not in (entry.get("resources") or []):
                problems.append(
                    f"{label}: {side} {check} on {resource} is not reviewed"
                )
    return problems


def stale_reviews(findings: dict[str, set[Finding]]) -> list[str]:
    occurring = set().union(*findings.values()) if findings else set()
    return [
        f"{REVIEWED.name}: {side}.{check} {resource} no longer occurs: remove it"
        for side, checks in reviewed().items()
        for check, entry in checks.items()
        for resource in entry.get("resources") or []
        if (check, resource) not in occurring
    ]


def main(argv: list[str] | None = None) -> int:
    named = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    paths = named or VALUES
    renders = []
    failures = 0
    for path in paths:
        problems = hub_policy_problems(path)
        failures += bool(problems)
        status = "ok  " if not problems else "FAIL"
        print(f"{status} {path.name}: python -m pyconfig check --values")
        for problem in problems:
            print(f"       {problem}")
        for version in VERSIONS:
            try:
                one = render(path, version)
            except (chart.ChartError, Exception) as error:  # reported, then on
                print(f"FAIL {path.name} @ {version}: render: {error}")
                failures += 1
                continue
            renders.append(one)
            for check, problems in (
                ("kubernetes-validate --strict", kubernetes_problems(one)),
                ("helm lint --strict", lint_problems(one)),
                ("yamllint", yamllint_problems(one)),
            ):
                status = "ok  " if not problems else "FAIL"
                failures += bool(problems)
                print(f"{status} {one.label}: {check} ({len(one.objects)} objects)")
                for problem in problems[:20]:
                    print(f"       {problem}")
    findings = checkov_findings(renders)
    problems = unreviewed(findings, renders)
    if not named:  # a partial run cannot tell which reviews went stale
        problems += stale_reviews(findings)
    total = sum(len(f) for f in findings.values())
    if problems:
        print("FAIL checkov:")
    else:
        print(
            f"ok   checkov: {total} findings over {len(renders)} renders, "
            f"all reviewed in {REVIEWED.name}"
        )
    for problem in problems:
        print(f"       {problem}")
    failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
