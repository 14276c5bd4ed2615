"""``python -m offline``: an admin's commands that run the release on this machine.

``preview`` prints the Pod and claim a launch would get; ``diff`` shows what
a ``helm upgrade`` from one values file to another changes. Both render the
chart with Helm's engine, run z2jh's hub configuration and the hub's own
packages, and launch against the loopback cluster (fakes/), so they run in a
clone after ``make setup``: the ``pyconfig`` wheel that repository authors
install carries none of that, and its command only checks ``.resources``.

Exit status: 0 as asked (no differences for diff), 1 a refused launch or
differences, 2 an error, named on one ``error:`` line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from offline import sandbox
from offline.values_diff import DEFAULT_SPEC
from pyconfig.admin.cli import printable_streams


def build_parser(prog: str = "python -m offline") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Preview a launch, or diff two values files, offline.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser(
        "preview",
        help="print the Pod and PVC a launch would get (no cluster needed)",
        description="Print, as a YAML stream in Kubernetes API field names, the "
        "Pod and then the PVC that KubeSpawner would create for a launch, using "
        "the hub configuration a values file produces, the Pod as the "
        "namespace's ResourceQuota and LimitRange admit it. Exit 1 with the "
        "message a user would see when the hub would refuse the launch, or the "
        "API server's when the namespace would refuse the Pod.",
    )
    preview.add_argument(
        "--values",
        type=Path,
        required=True,
        metavar="FILE",
        help="a values file of this chart",
    )
    _launch_arguments(
        preview,
        "gh/OWNER/REPO/REF, gl/GROUP%%2FPROJECT/REF, gist/USER/ID/REF or a "
        "repository URL",
        "use this .resources file instead of fetching the repository's",
    )
    preview.add_argument(
        "--image",
        help="the image BinderHub built (default: a placeholder that says so)",
    )
    preview.add_argument(
        "--pod-security",
        choices=("privileged", "baseline", "restricted"),
        default="privileged",
        help="the release namespace's pod-security.kubernetes.io/enforce label "
        "(default: privileged, which the release needs for dind)",
    )
    _add_diff(commands)
    return parser


_DIFF_DESCRIPTION = """\
Compare two values files of this chart as the cluster would run them:

  1. the rendered objects: added, removed, a unified diff of each changed one
  2. the hub's effective configuration (z2jh's jupyterhub_config.py run on
     each render): one "Section.trait: old -> new" line per change, the idle
     culler's options, the authenticator, ResourcePolicy, ServerQuota
  3. the Pod and PVC a sample launch gets, or the refusal a user would see
     (the launch goes through the side's ResourceQuota and LimitRange)

Secret values are never printed, only whether they changed: secret-looking
keys, and secret-looking parts of any value (a URL's password, private keys,
tokens, connection-string keys, their base64, random-looking strings); an
env var's value unless plainly not secret. Python from the values files
(hub.extraConfig snippets other than the chart's own) is not run unless
--run-extra-config asks for it; a note says what was left out. Values z2jh
generates at install (proxy, cookie and service tokens) compare equal, as
`helm upgrade` keeps the deployed ones. Exit 0: no differences; 1:
differences; 2: an error (a file that cannot be read, or that the chart or
the hub refuses, is named). Runs in a clone of the project (make setup).
"""
_DIFF_EXAMPLES = """\
before an upgrade, compare the deployed values with the new ones:
  helm get values binderhub -n binderhub -o yaml \\
      | python -m offline diff - my-values.yaml
  helm get values binderhub -n binderhub > deployed.yaml
  make diff A=deployed.yaml B=my-values.yaml
"""


def _add_diff(commands: Any) -> None:
    """The ``diff`` subcommand (offline/values_diff.py)."""
    diff = commands.add_parser(
        "diff",
        help="what a helm upgrade from values A to values B changes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_DIFF_DESCRIPTION,
        epilog=_DIFF_EXAMPLES,
    )
    for side, what in (
        ("a", "the values now (e.g. deployed)"),
        ("b", "the values after the upgrade"),
    ):
        diff.add_argument(
            side,
            metavar=side.upper(),
            help=f"{what}: a values file, a file saved from `helm get values "
            "RELEASE -o yaml` (its USER-SUPPLIED VALUES header may stay), or - "
            "for stdin (one side only)",
        )
    _launch_arguments(
        diff,
        f"the sample launch's repository (default: {DEFAULT_SPEC}), as for preview",
        "the sample launch's .resources file (default: the repository has none, "
        "so it gets the defaults; nothing is fetched)",
        default=DEFAULT_SPEC,
    )


def _launch_arguments(
    parser: argparse.ArgumentParser,
    launch_help: str,
    resources_help: str,
    default: str | None = None,
) -> None:
    """--launch, --user, --resources and --verbose: a launch run offline, as
    preview and diff both run one."""
    parser.add_argument(
        "--launch",
        required=default is None,
        default=default,
        metavar="SPEC",
        help=launch_help,
    )
    parser.add_argument("--user", default="user", help="hub user name (default: user)")
    parser.add_argument("--resources", type=Path, metavar="PATH", help=resources_help)
    parser.add_argument(
        "--verbose", action="store_true", help="also print the hub's log lines"
    )
    parser.add_argument(
        "--run-extra-config",
        action="store_true",
        help="also run the values file's own hub Python (hub.extraConfig "
        "snippets, code it mounts where the hub loads code), which is never run "
        "otherwise: in a child process with none of your environment (no "
        "KUBECONFIG, no credentials in variables) and an empty throwaway HOME "
        "and working directory. It still runs as your user: it can read your "
        "files by their absolute paths and reach the network",
    )


def main(
    argv: list[str] | None = None,
    out: TextIO | None = None,
    prog: str = "python -m offline",
) -> int:
    printable_streams(sys.stdout, sys.stderr, out)
    out = out or sys.stdout
    args = build_parser(prog).parse_args(argv)
    if args.run_extra_config and not sandbox.inside():
        return sandbox.run_in_child(_child_argv(args), out, sys.stdin)
    if args.command == "diff":
        from offline.values_diff import run as diff

        return diff(
            args.a, args.b, args.launch, args.user, args.resources, out, args.verbose
        )
    from offline.preview import run

    return run(
        args.values,
        args.launch,
        args.user,
        args.resources,
        out,
        args.verbose,
        args.image,
        args.pod_security,
    )


def _child_argv(args: argparse.Namespace) -> list[str]:
    """The command again, for the sandbox's child: its files as absolute
    paths (the child starts in an empty folder)."""

    def absolute(path: Path | str) -> str:
        return str(path) if str(path) == "-" else str(Path(path).resolve())

    options = ["--launch", args.launch, "--user", args.user, "--run-extra-config"]
    options += ["--resources", absolute(args.resources)] if args.resources else []
    options += ["--verbose"] if args.verbose else []
    if args.command == "diff":
        return ["diff", *options, "--", absolute(args.a), absolute(args.b)]
    options += ["--image", args.image] if args.image else []
    return [
        "preview",
        "--values",
        absolute(args.values),
        "--pod-security",
        args.pod_security,
        *options,
    ]
