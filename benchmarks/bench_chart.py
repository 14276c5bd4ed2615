"""Benchmark: render and check the whole release, as `make lint` and the tests do.

Prints, per values file and in total, the seconds for: render (Helm engine,
binderhub and z2jh included) at Kubernetes 1.28 and the newest release,
strict lint, kubernetes-validate --strict and yamllint at both, and checkov
over all renders in one run (it dominates). Figures only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import chart_checks


def main() -> int:
    steps = {
        "render": chart_checks.render,
        "lint": chart_checks.lint_problems,
        "validate": chart_checks.kubernetes_problems,
        "yamllint": chart_checks.yamllint_problems,
    }
    totals = dict.fromkeys(steps, 0.0)
    renders = []
    for path in chart_checks.VALUES:
        took = dict.fromkeys(steps, 0.0)
        for version in chart_checks.VERSIONS:
            start = time.perf_counter()
            one = chart_checks.render(path, version)
            took["render"] += time.perf_counter() - start
            renders.append(one)
            for name in ("lint", "validate", "yamllint"):
                start = time.perf_counter()
                steps[name](one)
                took[name] += time.perf_counter() - start
        for key, value in took.items():
            totals[key] += value
        objects = len(renders[-1].objects)
        print(
            f"{path.name:<13} {objects} objects  "
            + "  ".join(f"{k} {v:5.2f} s" for k, v in took.items())
        )
    start = time.perf_counter()
    if "--quick" not in sys.argv:
        chart_checks.checkov_findings(renders)
    checkov = time.perf_counter() - start
    print(
        f"all values files: {sum(totals.values()):.2f} s "
        "render+lint+validate+yamllint at two Kubernetes versions, "
        f"{checkov:.2f} s checkov"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
