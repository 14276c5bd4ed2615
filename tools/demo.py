"""`make demo`: a newcomer's first look at the service, on loopback.

Starts the real BinderHub app in front of a real JupyterHub, both with the
chart's rendered configuration (values/minimal.yaml, with
tests/data/hub-test-values.yaml for a dummy login), on the loopback
cluster: a Kubernetes API stand-in with the hub Role's permissions
(tools/kube_api.py) and a node that runs each pod as a real notebook
process (tools/kubelet.py). It prints BinderHub's URL: log in with any name,
launch the example repositories, watch the loading bar, open the notebook,
and stop or delete servers on the hub's home page. The user `demo` starts
with two servers. Ctrl-C or SIGTERM stops every process it started and
removes its temporary folder.

Simulated: Kubernetes (an API server plus local processes), the image
builds and the registry (BinderHub's FakeBuild and FakeRegistry), and
GitHub's API (the examples resolve `main` to a fixed commit).

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

from tests.hub_process.local_binder import hub_and_binder
from tests.hub_setup import SHA, github

FILES = {
    f"/demo-org/training/{SHA}/.resources": (
        b"# a bigger notebook\ncpur=2\ncpul=4\nmemr=4\nmeml=8\n"
    ),
    f"/demo-org/too-big/{SHA}/.resources": b"# over the caps\ncpul=100\n",
}
#: The example repositories BinderHub can launch: gh/demo-org/NAME/main.
COMMITS = {("demo-org", name, "main"): SHA for name in ("training", "notes", "too-big")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0, help="stop after N s")
    args = parser.parse_args(argv)
    # SIGTERM stops the demo as Ctrl-C does: every process, every file.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="persistent-binderhub-demo-") as state:
        try:
            with hub_and_binder(Path(state), FILES, COMMITS) as (hub, binder):
                hub.api("POST", "/users/demo")
                hub.launch("demo", "training-x1", github("demo-org", "training"))
                hub.launch("demo", "notes-x1", github("demo-org", "notes"))
                print(f"Persistent BinderHub demo at {binder.url}/", flush=True)
                print(
                    "Log in with any name (the user 'demo' has two notebooks), "
                    "then launch demo-org/training, demo-org/notes or "
                    "demo-org/too-big at ref main.",
                    flush=True,
                )
                print(f"The hub's home page: {hub.url}/hub/home", flush=True)
                print(
                    "Simulated: Kubernetes (an API server and local notebook "
                    "processes), the builds and the registry. Ctrl-C stops.",
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
