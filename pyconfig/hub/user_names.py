"""Names of what each user owns in Kubernetes, one per exact username.

KubeSpawner's safe slug keeps a name that is already a valid object name
(``alice``) and turns any other into a readable part and 8 hex digits of a
hash (``john.doe`` -> ``john-doe---30f69670``). 32 bits are found by brute
force in minutes, and a user whose slug matches another's would mount that
user's volume and key. Here a valid name is still kept as it is (so nothing
moves for such users), and any other gets 26 base32 characters (130 bits) of
SHA-256 of the exact name, which no amount of brute force matches. The two
kinds cannot meet: valid names never hold ``--``, hashed ones always ``---``.

A path component is not an object name: the mount path shows the hub name
itself (``/home/john.doe-nfs-pvc``) where it is a safe path component.
"""

from __future__ import annotations

import base64
import hashlib
import re

#: Base32 characters of SHA-256 kept in a hashed name: 130 bits.
HASH_CHARS = 26
#: The longest name kept as it is, and the longest readable part of a hashed
#: one (KubeSpawner keeps 48; ours are at most 26 + 3 + 26 = 55).
KEPT_MAX = 48
READABLE_MAX = 26
#: The owner annotation KubeSpawner puts on claims and we on key Secrets:
#: the exact hub username.
OWNER_ANNOTATION = "hub.jupyter.org/username"

_VALID = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_PATH_SAFE = re.compile(r"[A-Za-z0-9_@+][-A-Za-z0-9._@+]*")
#: The longest hub name a mount path shows as it is.
PATH_MAX = 64


def name_hash(*parts: str) -> str:
    """Lowercase base32 of SHA-256 over ``parts``, HASH_CHARS long. Parts are
    joined with 0xFF, a byte UTF-8 never holds, so ("a", "bc") is not
    ("ab", "c")."""
    digest = hashlib.sha256(b"\xff".join(p.encode() for p in parts)).digest()
    return base64.b32encode(digest).decode().lower()[:HASH_CHARS]


def _kept(name: str) -> bool:
    return len(name) <= KEPT_MAX and "--" not in name and bool(_VALID.fullmatch(name))


def _readable(name: str) -> str:
    """A lowercase letter first, then letters, digits and single hyphens."""
    part = _NOT_ALPHANUMERIC.sub("-", name.lower()).strip("-")[:READABLE_MAX]
    part = part.rstrip("-")
    if not part[:1].isalpha():
        part = ("x-" + part)[:READABLE_MAX].rstrip("-")
    return part


def user_slug(username: str) -> str:
    """The user's part of object names (claim, key Secret)."""
    if _kept(username):
        return username
    return f"{_readable(username)}---{name_hash(username)}"


def server_slug(username: str, servername: str) -> str:
    """The user's and server's part of a pod name: ``user--server`` when both
    are kept as they are and short enough, else a hash of both."""
    if not servername:
        return user_slug(username)
    joined = f"{username}--{servername}"
    if _kept(username) and _kept(servername) and len(joined) <= KEPT_MAX:
        return joined
    return f"{_readable(joined)}---{name_hash(username, servername)}"


def path_name(name: str) -> str:
    """``name`` itself where it is a safe path component (letters, digits and
    ``._@+-``, not starting with ``.`` or ``-``, no ``---``, which only
    hashed slugs hold), else its slug."""
    if len(name) <= PATH_MAX and _PATH_SAFE.fullmatch(name) and "---" not in name:
        return name
    return user_slug(name)


def owner_of(obj: dict) -> str | None:
    """The exact username an object's owner annotation names, if any."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    owner = annotations.get(OWNER_ANNOTATION)
    return owner if isinstance(owner, str) else None
