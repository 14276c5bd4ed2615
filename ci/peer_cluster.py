"""The loopback cluster (fakes/kube_api.py and fakes/kubelet.py) as a process.

The peer suite (ci/peer_suite.py) runs in a virtualenv of its own, with
the versions KubeSpawner's tests pin; the cluster needs this project's
(offline.chart imports helm-python). So the suite's plugin starts this module
with the project's Python: it prints the API's URL on one line, then serves
until its stdin closes or it gets SIGTERM, and stops every pod on the way
out. Started through fakes/lifetime.py, it dies with the test run.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from fakes.kube_api import KubeAPI
from fakes.kubelet import node


def main(argv: list[str]) -> int:
    """Serve a cluster whose pods live below ``argv[0]`` and run the programs
    of the virtualenv ``argv[1]`` (the suite's: JupyterLab, as the
    singleuser image has it)."""
    root, programs = Path(argv[0]), Path(argv[1])

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    with KubeAPI() as api, node(api, root, programs):
        api.create_namespace("default", {})
        print(api.url, flush=True)
        sys.stdin.read()  # until the test run closes it (or ends)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
