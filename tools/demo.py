"""`make demo`: a newcomer's first look at the service, on loopback.

Starts a real JupyterHub with the chart's rendered configuration
(values/minimal.yaml, with tests/data/hub-test-values.yaml for a dummy
login) on the loopback cluster: a Kubernetes API stand-in with the hub
Role's permissions (tools/kube_api.py) and a node that runs each pod as a
real notebook process (tools/kubelet.py). Two example servers are launched
the way BinderHub launches them; log in as `demo` to open them, stop and
delete them, or launch more from the hub API. Ctrl-C or SIGTERM stops every
process it started and removes its temporary folder.

Simulated: Kubernetes (an API server plus local processes); BinderHub's
builds are not part of the demo yet (servers start from the hub API).

    python -m tools.demo [--seconds N]   # N: stop by itself after N seconds
"""

from __future__ import annotations

import argparse
import signal
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
    # SIGTERM stops the demo as Ctrl-C does: every process, every file.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="persistent-binderhub-demo-") as state:
        try:
            with local_hub(Path(state), FILES, cluster=True) as hub:
                hub.api("POST", "/users/demo")
                hub.launch("demo", "training-x1", github("demo-org", "training"))
                hub.launch("demo", "notes-x1", github("demo-org", "notes"))
                print(f"Persistent BinderHub demo at {hub.url}/hub/login", flush=True)
                print(
                    "Log in as 'demo' (any password) to open its two notebooks.",
                    flush=True,
                )
                print(
                    "Kubernetes is simulated: an API server and local notebook "
                    "processes. Ctrl-C stops.",
                    flush=True,
                )
                deadline = time.monotonic() + args.seconds if args.seconds else None
                while deadline is None or time.monotonic() < deadline:
                    time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        print("Stopping the demo hub.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
