"""``python -m pyconfig.hub.helm_test URL``: is the hub up, with our config loaded?

Run by the chart's `helm test` pod. The hub answers every request with the
header :data:`HEADER` only when ``configure(c)`` ran, so one request checks
both that the hub API answers and that this project's configuration loaded.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from .. import __version__

HEADER = "X-Persistent-BinderHub"


def check(url: str, timeout: float = 10.0) -> str | None:
    """None when all is well, else what is wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, loaded = response.status, response.headers.get(HEADER)
    except (urllib.error.URLError, OSError) as error:
        return f"the hub API at {url} does not answer: {error}"
    if status != 200:
        return f"the hub API at {url} answered {status}"
    if loaded is None:
        return f"the hub answers, but without {HEADER}: pyconfig did not load"
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pyconfig.hub.helm_test HUB_API_URL", file=sys.stderr)
        return 2
    problem = check(args[0])
    if problem:
        print(f"FAIL: {problem}", file=sys.stderr)
        return 1
    print(f"ok: hub API answers and Persistent BinderHub {__version__} is loaded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
