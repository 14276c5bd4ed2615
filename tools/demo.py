"""`make demo`: a newcomer's first look at the hub pages and hooks, on loopback.

Starts a real JupyterHub with the chart's rendered configuration
(values/minimal.yaml, with tests/data/hub-test-values.yaml for a dummy
login), with two example servers launched the way BinderHub launches them,
prints the URL, and stops cleanly on Ctrl-C. It previews the hub pages and
the spawn hooks only: the "notebooks" are stand-ins, real notebooks need the
chart on Kubernetes.

    python -m tools.demo [--seconds N]   # N: stop by itself after N seconds
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hub_process.local_hub import local_hub
from tests.hub_setup import SHA, github

FILES = {
    f"/demo-org/training/{SHA}/.resources": (
        b"# a bigger notebook\ncpur=2\ncpul=4\nmemr=4\nmeml=8\n"
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0, help="stop after N s")
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="persistent-binderhub-demo-"))
    with local_hub(state, FILES) as hub:
        hub.api("POST", "/users/demo")
        hub.launch("demo", "training-x1", github("demo-org", "training"))
        hub.launch("demo", "notes-x1", github("demo-org", "notes"))
        print(f"Persistent BinderHub demo at {hub.url}/hub/login", flush=True)
        print("Log in as 'demo' (any password) to see its two servers.", flush=True)
        print(
            "This previews the hub pages and hooks; notebooks need the chart on "
            "Kubernetes. Ctrl-C stops.",
            flush=True,
        )
        try:
            deadline = time.monotonic() + args.seconds if args.seconds else None
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        print("Stopping the demo hub.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
