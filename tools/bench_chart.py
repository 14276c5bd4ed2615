"""Benchmark: render and check every values file, as the chart tests do.

Prints, per values file and in total, the seconds for: render (Helm engine),
strict lint at two Kubernetes versions, kubernetes-validate --strict at two
versions, yamllint, and checkov (run separately: it dominates). Figures only.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import helm_python
import kubernetes_validate

from tools import chart

VERSIONS = ("1.28.0", kubernetes_validate.latest_version())
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def main() -> int:
    totals = {
        "render": 0.0,
        "lint": 0.0,
        "validate": 0.0,
        "yamllint": 0.0,
        "checkov": 0.0,
    }
    folder = Path(tempfile.mkdtemp(prefix="bench-chart-"))
    for path in sorted((ROOT / "values").glob("*.yaml")):
        values = chart.load_values(path)
        took = {}
        start = time.perf_counter()
        rendered = chart.render(values)
        took["render"] = time.perf_counter() - start
        start = time.perf_counter()
        for version in VERSIONS:
            helm_python.lint(
                str(chart.CHART), values, strict=True, kube_version=version
            )
        took["lint"] = time.perf_counter() - start
        start = time.perf_counter()
        for version in VERSIONS:
            for obj in chart.manifests(rendered):
                kubernetes_validate.validate(obj, version, strict=True)
        took["validate"] = time.perf_counter() - start
        target = folder / path.name
        target.write_text(chart.stream(rendered))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "yamllint", "-d", "relaxed", str(target)],
                       capture_output=True, check=False)  # fmt: skip
        took["yamllint"] = time.perf_counter() - start
        start = time.perf_counter()
        if CHECKOV.exists() and "--quick" not in sys.argv:
            command = [str(CHECKOV), "--framework", "kubernetes", "--quiet"]
            command += ["--skip-download", "--file", str(target)]
            subprocess.run(command, capture_output=True, check=False)
        took["checkov"] = time.perf_counter() - start
        for key, value in took.items():
            totals[key] += value
        print(
            f"{path.name:<13} " + "  ".join(f"{k} {v:5.2f} s" for k, v in took.items())
        )
    without = sum(v for k, v in totals.items() if k != "checkov")
    print(
        f"all values files: {without:.2f} s render+lint+validate+yamllint, "
        f"{totals['checkov']:.2f} s checkov"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
