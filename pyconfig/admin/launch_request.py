"""BinderHub launch specs (``gh/OWNER/REPO/REF``, URLs) as BinderHub's user_options.

Shared by ``check`` (read a repository's file the way the hub does) and
``preview``; standard library only. Every part is checked against the
provider's name rules (launch_source.RULES) before it is put in a URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..hub.repo_spec import spec_problem


class SpecError(ValueError):
    """A launch spec this command cannot read; says which forms it takes."""


SPEC_FORMS = (
    "gh/OWNER/REPO/REF, gl/GROUP%2FPROJECT/REF, gist/USER/ID/REF, "
    "or a https://github.com, https://gitlab.com or https://gist.github.com URL"
)


def user_options(spec: str) -> dict[str, Any]:
    """BinderHub's ``user_options`` for a spec or repository URL."""
    provider, path, ref = _parse(spec)
    problem = spec_problem(provider, path, ref)
    if problem:
        raise SpecError(f"cannot read {spec!r}: {problem}")
    host = {"gh": "github.com", "gl": "gitlab.com", "gist": "gist.github.com"}[provider]
    escaped = quote(path, safe="") if provider == "gl" else path
    ref_url = (
        f"https://{host}/{path}/{ref}"
        if provider == "gist"
        else f"https://{host}/{path}/tree/{ref}"
    )
    return {
        "image": "",
        "repo_url": f"https://{host}/{path}",
        "binder_ref_url": ref_url,
        "binder_launch_host": "https://binder.example.org/",
        "binder_request": f"v2/{provider}/{escaped}/{ref}",
        "binder_persistent_request": f"v2/{provider}/{escaped}/{ref}",
    }


def _parse(spec: str) -> tuple[str, str, str]:
    if spec.startswith(("https://", "http://")):
        url = urlsplit(spec)
        parts = [p for p in url.path.split("/") if p]
        provider = {
            "github.com": "gh", "gitlab.com": "gl", "gist.github.com": "gist"
        }.get(url.hostname or "")  # fmt: skip
        if provider is None or len(parts) < 2:
            raise SpecError(f"cannot read {spec!r}: use {SPEC_FORMS}")
        ref = "HEAD"
        for marker in ("-", "tree"):
            if marker in parts:
                at = parts.index(marker)
                tail = parts[at + 1 :]
                ref = tail[-1] if tail else ref
                parts = parts[:at]
        return provider, "/".join(parts), ref
    provider, _, rest = spec.partition("/")
    pieces = rest.split("/")
    if provider == "gl" and len(pieces) == 2:
        return provider, unquote(pieces[0]), pieces[1]
    if provider in ("gh", "gist") and len(pieces) == 3 and all(pieces):
        return provider, f"{pieces[0]}/{pieces[1]}", pieces[2]
    raise SpecError(f"cannot read {spec!r}: use {SPEC_FORMS}")
