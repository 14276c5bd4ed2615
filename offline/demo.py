"""`make demo`: a newcomer's first look at the service, on loopback.

Starts the real BinderHub app in front of a real JupyterHub, both with the
chart's rendered configuration (values/cerit.yaml, with
offline/values/loopback-login.yaml), on the loopback cluster: a Kubernetes
API with the release's RBAC (fakes/kube_api.py) and a node that runs each
pod as a real notebook process (fakes/kubelet.py). Users log in through cerit.yaml's own
GenericOAuthenticator at a loopback OpenID Connect provider
(fakes/oidc_provider.py) that lets any name in, as a member of the users
group. It prints BinderHub's URL: log in with any name,
launch the example repositories, watch the loading bar, open the notebook,
and stop or delete servers on the hub's home page. The user `demo` starts
with two servers. Ctrl-C, SIGTERM or SIGHUP stops every process it started
and removes its temporary folder, whatever signal handling it inherited (a
background job of a script starts with Ctrl-C ignored); if the demo is killed
instead, every process it started dies with it (fakes/lifetime.py).

Simulated: Kubernetes (an API server plus local processes), the image
builds and the registry (BinderHub's FakeBuild and FakeRegistry), GitHub's
API (the examples resolve `main` to a fixed commit), and the institution's
login (a form that asks only for a name).

    python -m offline.demo [--seconds N] [--logs DIR]

``--seconds N`` stops it by itself after N seconds. Its state and logs (the
hub's, BinderHub's, each notebook's) are in a temporary folder removed when
it stops; ``--logs DIR`` keeps them in DIR instead.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakes.oidc_provider import OIDCProvider
from offline.hub_setup import SHA, github
from offline.local_binder import hub_and_binder
from offline.login import LOGIN_VALUES, members_group

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
    parser.add_argument(
        "--logs",
        type=Path,
        metavar="DIR",
        help="keep the demo's state and logs in DIR (made if missing) instead of "
        "a temporary folder removed when it stops",
    )
    args = parser.parse_args(argv)
    stop_on_signals()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
        folder: contextlib.AbstractContextManager[str] = contextlib.nullcontext(
            str(args.logs.resolve())
        )
    else:
        folder = tempfile.TemporaryDirectory(prefix="persistent-binderhub-demo-")
    with folder as state, contextlib.ExitStack() as running:
        try:
            idp = running.enter_context(OIDCProvider())
            hub, binder = running.enter_context(
                hub_and_binder(Path(state), FILES, COMMITS, LOGIN_VALUES, idp=idp)
            )
            idp.newcomers = {"eduperson_entitlement": [members_group()]}
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
                "processes), the builds, the registry and the "
                "institution's login. Ctrl-C stops.",
                flush=True,
            )
            kept = "kept" if args.logs else "removed on stop; --logs DIR keeps it"
            print(
                f"Logs: the hub's {hub.log}, BinderHub's {binder.log}, and the "
                f"notebooks' in {state} ({kept}).",
                flush=True,
            )
            deadline = time.monotonic() + args.seconds if args.seconds else None
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        if not STOP_ASKED:  # --seconds ran out
            _stopping()
    print(f"Stopped in {time.monotonic() - STOP_ASKED[0]:.1f} s.", flush=True)
    if args.logs:
        print(f"Logs kept in {args.logs}.", flush=True)
    return 0


#: The signals that stop the demo as Ctrl-C does: every process, every file.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: When a stop was asked for (the first signal, or the end of --seconds).
STOP_ASKED: list[float] = []


def _stopping() -> None:
    """Say at once that the demo stops: the stop itself takes seconds."""
    STOP_ASKED.append(time.monotonic())
    print("Stopping the demo: BinderHub, the hub and the notebooks.", flush=True)


def _interrupt(number: int, frame: object) -> None:
    if not STOP_ASKED:
        _stopping()
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Make each of STOP_SIGNALS raise KeyboardInterrupt, whatever this
    process inherited: Python keeps an ignored SIGINT ignored (a background
    job of a non-interactive shell starts so), and a blocked signal mask
    survives exec."""
    for number in STOP_SIGNALS:
        signal.signal(number, _interrupt)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


if __name__ == "__main__":
    raise SystemExit(main())
