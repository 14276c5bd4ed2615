"""A launch spec typed by an admin or author, as BinderHub's ``user_options``.

Shared by ``check`` (read a repository's file the way the hub does) and
``preview``. Specs are read by the hub's own parser (pyconfig.hub.repo_spec),
so both take exactly what the hub takes; this module adds the repository
URL forms people paste, and the options BinderHub would send.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from ..hub.repo_spec import PROVIDERS, InvalidName, SpecError, parse_spec, spec_problem

__all__ = ["SPEC_FORMS", "SpecError", "user_options"]

_URLS = [f"https://{p.host}" for p in PROVIDERS.values()]
SPEC_FORMS = (
    "gh/OWNER/REPO/REF, gl/GROUP%2FPROJECT/REF, gist/USER/ID/REF, "
    f"or a {', '.join(_URLS[:-1])} or {_URLS[-1]} URL"
)


def user_options(spec: str) -> dict[str, Any]:
    """BinderHub's ``user_options`` for a spec or repository URL."""
    try:
        if spec.startswith(("https://", "http://")):
            provider, path, ref = _from_url(spec)
            problem = spec_problem(provider, path, ref)
            if problem:
                raise InvalidName(problem)
        else:
            provider, path, ref = parse_spec(spec)
    except InvalidName as error:
        raise SpecError(f"cannot read {spec!r}: {error}") from None
    except SpecError:
        raise SpecError(f"cannot read {spec!r}: use {SPEC_FORMS}") from None
    host = PROVIDERS[provider].host
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


def _from_url(spec: str) -> tuple[str, str, str]:
    """(provider, repo, ref) of a repository URL of a known provider."""
    url = urlsplit(spec)
    parts = [p for p in url.path.split("/") if p]
    hosts = {p.host: p.prefix for p in PROVIDERS.values()}
    provider = hosts.get(url.hostname or "")
    if provider is None or len(parts) < 2:
        raise SpecError(spec)
    ref = "HEAD"
    for marker in ("-", "tree"):
        if marker in parts:
            at = parts.index(marker)
            tail = parts[at + 1 :]
            ref = tail[-1] if tail else ref
            parts = parts[:at]
    return provider, "/".join(parts), ref
