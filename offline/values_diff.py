"""``python -m offline diff A B``: what a `helm upgrade` from values A to B changes.

Admins run it before every upgrade, with A the deployed values (``helm get
values RELEASE -o yaml``) and B the new file. Each side goes through what
``preview`` runs: the chart rendered by the real Helm engine, z2jh's own
jupyterhub_config.py on the rendered hub Secret, and one launch through
JupyterHub, our hook and BinderSpawner in a fresh install's namespace on the
loopback cluster, through its admission (the side's ResourceQuota and
LimitRange). Three sections compare them: the rendered objects, the hub's effective
configuration, and the Pod and PVC of a sample launch.

Secret values are never printed: a Secret's data shows only whether each key
changed (a hub Secret's values.yaml is shown decoded, with secret-looking
keys masked), and so does every secret-looking key elsewhere.

z2jh generates the proxy token, cookie secret, CryptKeeper key and service
tokens at random when the values leave them unset, and `helm upgrade` keeps
the deployed ones (its templates look the hub Secret up). Here each side
that leaves one unset gets the same fixed stand-in, so equal values compare
equal, as they do on the cluster.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import difflib
import hashlib
import io
import json
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from offline import schema_problems
from offline.preview import Refused, admitted_launch
from offline.secret_values import (
    RedactedLines,
    plainly_not_secret,
    redacted,
    secret_spans,
)
from pyconfig.admin import safe_yaml
from pyconfig.admin.launch_request import SpecError, user_options
from pyconfig.hub.culler import culler_command

EXIT_SAME, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2
DEFAULT_SPEC = "gh/binder-examples/requirements/HEAD"
#: Where z2jh's values sit in this chart's values.
Z2JH = ("binderhub", "jupyterhub")
#: Headers `helm get values` prints above the YAML without ``-o yaml``.
_HELM_HEADERS = ("USER-SUPPLIED VALUES:", "COMPUTED VALUES:")

#: What a masked secret reads as: the same on both sides, the new side of a
#: change, and any other side (the old one, or a side that alone has it).
UNCHANGED, NEW, SECRET = "(unchanged)", "(changed)", "(secret)"
_ABSENT: Any = object()

_SECRET_WORDS = (
    "secret",
    "token",
    "password",
    "passwd",
    "privatekey",
    "apikey",
    "credential",
    "cryptokey",
)
#: Names with a secret word that name or point at a secret instead of holding it.
_REFERENCE_ENDS = (
    "url",
    "name",
    "names",
    "env",
    "ref",
    "path",
    "file",
    "secrets",
    "template",
    "existingsecret",
    "existingsecretordefault",
    "pullsecret",
    "pushsecret",
)
#: Keys of environment variables: lists of {name, value} (a container's env,
#: z2jh's extraEnv as a list) and mappings of name to value (extraEnv,
#: Spawner.environment). Their values are masked unless plainly not secret.
_ENV_LISTS = frozenset({"env", "extraEnv"})
_ENV_MAPS = frozenset({"extraEnv", "environment"})


class DiffError(Exception):
    """A side that cannot be compared; the message names its file."""


class _Hidden:
    """A Secret's value: compared, never shown."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Hidden) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


@dataclass
class Side:
    """One values file, as the cluster would run it."""

    name: str
    objects: dict[str, dict[str, Any]]
    config: dict[str, Any]
    #: The launch's {"pod", "pvc"} manifests, or the refusal the user would see.
    launch: dict[str, Any] | str


def secret_key(key: str, parent: str = "") -> bool:
    """Whether a mapping key (or env var name) looks like it holds a secret;
    ``parent`` is the dotted path above it."""
    word = re.sub(r"[^a-z0-9/]", "", str(key).lower())
    above = parent.lower()
    if word.startswith("checksum/"):  # z2jh's are digests of its secrets
        return True
    if word == "keys" and "crypt" in above:  # CryptKeeper.keys
        return True
    if word in ("data", "stringdata", "binarydata") and "extrafiles" in above:
        return True  # z2jh puts extraFiles in a Secret
    if word.endswith(_REFERENCE_ENDS):
        return False
    return any(w in word for w in _SECRET_WORDS)


def _secret_value(value: Any) -> bool:
    """A Secret's value, or one that holds a private key, at any depth."""
    if isinstance(value, dict):
        return any(_secret_value(v) for v in value.values())
    if isinstance(value, list):
        return any(_secret_value(v) for v in value)
    return isinstance(value, _Hidden) or (
        isinstance(value, str) and "PRIVATE KEY" in value
    )


def masked(
    a: Any, b: Any, secret: bool = False, path: str = "", env: bool = False
) -> tuple[Any, Any]:
    """Both sides with every secret value replaced by a note: ``(unchanged)``
    on both, or ``(secret)`` then ``(changed)``; a side may be ``_ABSENT``.

    ``secret``: the value sits under a secret-looking name. A mapping there is
    walked, its ``value`` hidden and its other keys judged by their own names
    (so an env var's ``valueFrom`` reference shows); flags are never hidden.
    ``env``: the value of an environment variable, hidden unless plainly not
    secret (secret_values.plainly_not_secret). Any other string shows with
    only its secret parts (secret_values.secret_spans) replaced by a note.
    Lists of named entries (env, volumes) are paired by name, others by place.
    """
    present = [v for v in (a, b) if v is not _ABSENT]
    if not present:
        return a, b
    nested = any(isinstance(v, dict) for v in present)
    flags = all(isinstance(v, bool) or v is None for v in present)
    hidden_env = env and any(
        isinstance(v, str) and not plainly_not_secret(v) for v in present
    )
    if ((secret or hidden_env) and not nested and not flags) or (
        not nested and any(_secret_value(v) for v in present)
    ):
        if a is _ABSENT or b is _ABSENT:
            return (a, SECRET) if a is _ABSENT else (SECRET, b)
        return (UNCHANGED, UNCHANGED) if a == b else (SECRET, NEW)
    if all(isinstance(v, str) for v in present):
        return _masked_strings(a, b)
    if all(isinstance(v, dict) for v in present):
        return _masked_dicts(a, b, secret, path)
    if all(isinstance(v, list) for v in present):
        return _masked_lists(a, b, secret, path)
    if len(present) == 2 and any(isinstance(v, dict | list | str) for v in present):
        return (
            masked(a, _ABSENT, secret, path, env)[0],
            masked(_ABSENT, b, secret, path, env)[1],
        )
    return a, b


def masked_one(obj: Any) -> Any:
    """One object with its secrets masked, for commands that print one side
    (``preview``): each secret reads ``(secret)``."""
    return masked(obj, _ABSENT)[0]


def _masked_strings(a: Any, b: Any) -> tuple[Any, Any]:
    """Two strings (or one, the other ``_ABSENT``) with each secret part
    replaced: ``(unchanged)`` where the other side holds the same secret."""
    spans = {id(v): secret_spans(v) for v in (a, b) if v is not _ABSENT}
    found = {
        id(v): {v[s:e] for s, e in spans[id(v)]} for v in (a, b) if v is not _ABSENT
    }

    def replaced(text: Any, other: Any, changed: str) -> Any:
        if text is _ABSENT or not spans[id(text)]:
            return text
        parts, at = [], 0
        for start, end in spans[id(text)]:
            if other is _ABSENT:
                note = SECRET
            else:
                note = UNCHANGED if text[start:end] in found[id(other)] else changed
            parts += [text[at:start], note]
            at = end
        return "".join([*parts, text[at:]])

    return replaced(a, b, SECRET), replaced(b, a, NEW)


def _masked_dicts(a: Any, b: Any, secret: bool, path: str) -> tuple[Any, Any]:
    da: dict = {} if a is _ABSENT else a
    db: dict = {} if b is _ABSENT else b
    secret = secret or any(secret_key(str(d.get("name", ""))) for d in (da, db))
    parts = path.split(".")
    left: dict[str, Any] = {}
    right: dict[str, Any] = {}
    for k in [*da, *(k for k in db if k not in da)]:
        hidden = secret_key(k, path) or (secret and k == "value")
        env = parts[-1] in _ENV_MAPS or (
            k == "value" and (parts[-1] in _ENV_LISTS or parts[-2:-1] == ["extraEnv"])
        )
        x, y = masked(
            da.get(k, _ABSENT), db.get(k, _ABSENT), hidden, f"{path}.{k}", env
        )
        if x is not _ABSENT:
            left[k] = x
        if y is not _ABSENT:
            right[k] = y
    return (_ABSENT if a is _ABSENT else left), (_ABSENT if b is _ABSENT else right)


def _masked_lists(a: Any, b: Any, secret: bool, path: str) -> tuple[Any, Any]:
    la: list = [] if a is _ABSENT else a
    lb: list = [] if b is _ABSENT else b
    names_a, names_b = _names(la), _names(lb)
    if names_a is not None and names_b is not None:
        at_a = dict(zip(names_a, la, strict=True))
        at_b = dict(zip(names_b, lb, strict=True))
        left = [
            masked(x, at_b.get(n, _ABSENT), secret, path)[0] for n, x in at_a.items()
        ]
        right = [
            masked(at_a.get(n, _ABSENT), y, secret, path)[1] for n, y in at_b.items()
        ]
    else:
        pairs = [
            masked(
                la[i] if i < len(la) else _ABSENT,
                lb[i] if i < len(lb) else _ABSENT,
                secret,
                path,
            )
            for i in range(max(len(la), len(lb)))
        ]
        left = [x for x, _ in pairs if x is not _ABSENT]
        right = [y for _, y in pairs if y is not _ABSENT]
    return (_ABSENT if a is _ABSENT else left), (_ABSENT if b is _ABSENT else right)


def _names(items: list) -> list[str] | None:
    """The entries' names, when every entry is a mapping with its own name."""
    if not items or not all(isinstance(i, dict) and "name" in i for i in items):
        return None
    names = [str(i["name"]) for i in items]
    return names if len(set(names)) == len(names) else None


# --- reading a side ---------------------------------------------------------


def read_values(name: str, stdin: TextIO) -> dict[str, Any]:
    """A values file, or stdin for ``-``; a `helm get values` header is skipped.

    Read by offline.chart.load_values, so errors say what `make render` says,
    naming the file (or "stdin")."""
    from offline import chart

    shown = "stdin" if name == "-" else name
    try:
        text = stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DiffError(f"{shown}: no such values file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DiffError(f"{shown}: cannot read it: {error}") from None
    lines = text.splitlines(keepends=True)
    if lines and lines[0].strip() in _HELM_HEADERS:
        text = "".join(lines[1:])
    with tempfile.TemporaryDirectory(prefix="pyconfig-diff-") as folder:
        copied = Path(folder) / "values.yaml"
        copied.write_text(text, encoding="utf-8")
        try:
            return chart.load_values(copied)
        except chart.ChartError as error:
            raise DiffError(str(error).replace(str(copied), shown)) from None


def _stand_in(name: str) -> str:
    """A fixed value in the form z2jh generates (64 hex digits)."""
    return hashlib.sha256(f"persistent-binderhub diff: {name}".encode()).hexdigest()


def generated_stand_ins(values: dict[str, Any], services: list[str]) -> dict[str, Any]:
    """Values that fix what z2jh would generate at random for these values:
    each one the values leave unset (z2jh's own precedence), and the API token
    of each hub service in ``services``."""
    z2jh = _get(values, Z2JH) or {}
    config = _get(z2jh, ("hub", "config")) or {}
    hub: dict[str, Any] = {"config": {}}
    if not _get(config, ("ConfigurableHTTPProxy", "auth_token")) and not _get(
        z2jh, ("proxy", "secretToken")
    ):
        hub["config"]["ConfigurableHTTPProxy"] = {"auth_token": _stand_in("proxy")}
    if not _get(config, ("JupyterHub", "cookie_secret")) and not _get(
        z2jh, ("hub", "cookieSecret")
    ):
        hub["config"]["JupyterHub"] = {"cookie_secret": _stand_in("cookie")}
    if not _get(config, ("CryptKeeper", "keys")):
        hub["config"]["CryptKeeper"] = {"keys": [_stand_in("crypt")]}
    set_tokens = {
        name
        for name, service in (_get(z2jh, ("hub", "services")) or {}).items()
        if isinstance(service, dict)
        and (service.get("apiToken") or service.get("api_token"))
    }
    hub["services"] = {
        name: {"apiToken": _stand_in(f"service {name}")}
        for name in services
        if name not in set_tokens
    }
    return {"binderhub": {"jupyterhub": {"hub": hub}}}


def _get(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(key)
    return tree


def _services(objects: list[dict[str, Any]]) -> list[str]:
    """The hub services a render holds API tokens for (z2jh's hub Secret)."""
    from offline.chart import find

    try:
        data = find(objects, "Secret", "hub").get("data") or {}
    except KeyError:  # hub.existingSecret: the admin's Secret holds them
        return []
    found = (re.fullmatch(r"hub\.services\.(.+)\.apiToken", k) for k in data)
    return [m.group(1) for m in found if m]


def render(name: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The release's objects for a side, z2jh's generated secrets fixed."""
    import helm_python

    from offline import chart

    try:
        first = chart.manifests(chart.render(values))
        fixed = chart.merge_values(
            values, generated_stand_ins(values, _services(first))
        )
        return chart.manifests(chart.render(fixed))
    except chart.ChartError as error:
        raise DiffError(str(error)) from None
    except helm_python.HelmError as error:
        lines = schema_problems.problems(str(error)) or [str(error).strip()]
        # One "error:" line per problem (the command prints the first prefix).
        raise DiffError("\nerror: ".join(f"{name}: {line}" for line in lines)) from None


def prepare(name: str, values: dict[str, Any], launch: _Launch, log: TextIO) -> Side:
    """Render one side, load its hub configuration and launch under it."""
    from offline.chart import CHART
    from offline.hub_pod import hub_pod, z2jh_config
    from offline.values_code import chart_code_only, note

    shown = "stdin" if name == "-" else name
    objects = render(shown, values)
    code_only, skipped = chart_code_only(objects, CHART)
    if skipped:
        print(redacted(note(shown, skipped)), file=sys.__stderr__)
    with tempfile.TemporaryDirectory(prefix="pyconfig-diff-") as root:
        try:
            pod = hub_pod(code_only, Path(root))
            config = z2jh_config(pod, log)
        except Exception as error:  # a hub.extraConfig snippet refused the values
            raise DiffError(f"{shown}: {str(error).strip()}") from None
        try:
            # As preview: in a fresh install's namespace, through its admission.
            manifests: dict[str, Any] | str = admitted_launch(
                objects,
                "privileged",
                lambda kube: launch.run(config, pod, kube),
                contextlib.nullcontext(),
            )
        except Refused as refused:  # the hub's message, or the API server's
            manifests = str(refused)
        except Exception as error:
            raise DiffError(f"{shown}: the sample launch failed: {error}") from None
        settings = hub_settings(config, root)
    return Side(shown, _by_id(objects), settings, manifests)


@dataclass
class _Launch:
    """The sample launch both sides get."""

    spec: str
    user: str
    resources: bytes | None

    async def run(self, config: Any, pod: Any, kube: Any = None) -> dict[str, Any]:
        """preview's launch, against ``kube``; without a file, the repository
        has no .resources (a loopback server answers 404, so nothing is
        fetched)."""
        from .preview import launch

        options = user_options(self.spec)
        options["image"] = f"(the image BinderHub builds for {self.spec})"
        manifests = await launch(
            config, pod, options, self.user, self.resources, offline=True, kube=kube
        )
        return _stable(manifests)


#: Set by the hub at each launch, different every time.
_PER_LAUNCH_ENV = frozenset({"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"})


def _stable(manifests: dict[str, Any]) -> dict[str, Any]:
    """The manifests without what differs from one launch to the next."""
    manifests = copy.deepcopy(manifests)
    for container in (manifests["pod"].get("spec") or {}).get("containers") or []:
        for entry in container.get("env") or []:
            if entry.get("name") in _PER_LAUNCH_ENV:
                entry["value"] = "(made by the hub for each launch)"
    return manifests


# --- the objects ------------------------------------------------------------


def object_id(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    parts = [obj.get("kind", "?"), meta.get("namespace"), meta.get("name", "?")]
    return "/".join(str(p) for p in parts if p)


def _by_id(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for obj in objects:
        key, n = object_id(obj), 2
        while key in found:
            key, n = f"{object_id(obj)} ({n})", n + 1
        found[key] = _shown_secret(obj) if obj.get("kind") == "Secret" else obj
    return found


def _shown_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """A Secret whose values are hidden; a values.yaml is decoded instead, for
    its keys to be compared and masked one by one."""
    secret = copy.deepcopy(secret)
    for field in ("data", "stringData"):
        for key, value in (secret.get(field) or {}).items():
            text = value
            if field == "data":
                try:
                    text = base64.b64decode(value).decode()
                except (ValueError, UnicodeDecodeError):
                    text = None
            decoded = _yaml_mapping(text) if key == "values.yaml" else None
            secret[field][key] = _Hidden(value) if decoded is None else decoded
    return secret


def _yaml_mapping(text: str | None) -> dict[str, Any] | None:
    try:
        loaded = safe_yaml.load(text) if text else None
    except (yaml.YAMLError, safe_yaml.UnsafeYAML):
        return None
    return loaded if isinstance(loaded, dict) else None


def _dump(obj: Any) -> list[str]:
    return yaml.safe_dump(obj, sort_keys=False, width=100).splitlines()


def unified(a: Any, b: Any, label_a: str, label_b: str) -> list[str]:
    """A unified diff of two objects' YAML, secrets masked."""
    left, right = masked(a, b)
    lines = [] if left is _ABSENT else _dump(left)
    other = [] if right is _ABSENT else _dump(right)
    return list(difflib.unified_diff(lines, other, label_a, label_b, lineterm=""))


def objects_section(a: Side, b: Side) -> list[str]:
    added = [k for k in b.objects if k not in a.objects]
    removed = [k for k in a.objects if k not in b.objects]
    changed = [k for k in a.objects if k in b.objects and a.objects[k] != b.objects[k]]
    lines = [f"  added:   {k}" for k in added]
    lines += [f"  removed: {k}" for k in removed]
    lines += [f"  changed: {k}" for k in changed]
    for key in changed:
        lines.append("")
        lines += unified(a.objects[key], b.objects[key], f"A {key}", f"B {key}")
    return lines


# --- the hub's configuration ------------------------------------------------


def hub_settings(config: Any, root: str) -> dict[str, Any]:
    """Rows "Section.trait" (and deeper keys) -> value, comparable across runs:
    the idle culler's command read as its options, functions and classes by
    name, the folder the hub pod was laid out in removed from paths."""
    from offline.hub_pod import serialized

    def plain(value: Any) -> Any:
        from traitlets.config.loader import LazyConfigValue

        if isinstance(value, LazyConfigValue):
            return plain(value.to_dict())
        if hasattr(value, "openapi_types"):  # a kubernetes model
            return plain(serialized(value))
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            items = [plain(v) for v in value]
            return (
                sorted(items, key=repr) if isinstance(value, set | frozenset) else items
            )
        if isinstance(value, str):
            return value.replace(root, "")
        if isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, type):
            return f"<class {value.__qualname__}>"
        if callable(value):
            name = getattr(value, "__qualname__", type(value).__qualname__)
            return f"<function {getattr(value, '__module__', '')}.{name}>"
        return re.sub(r" at 0x[0-9a-f]+", "", repr(value)).replace(root, "")

    rows: dict[str, Any] = {}
    for section in sorted(config):
        traits = config[section]
        if not hasattr(traits, "items"):
            rows[section] = plain(traits)
            continue
        for trait, value in traits.items():
            value = plain(value)
            if section == "JupyterHub" and trait == "services":
                value = _culler_apart(value, rows)
            _flatten(value, (section, trait), rows)
    return rows


def _culler_apart(services: Any, rows: dict[str, Any]) -> Any:
    """The idle culler's command as one row per option; the other services."""
    if not isinstance(services, list):
        return services
    rest = []
    for service in services:
        culler = culler_command(service)
        if culler is not None:
            started, options = culler
            rows["idle culler"] = " ".join(started)
            for option, value in options.items():
                number = _number(value) if isinstance(value, str) else value
                rows[f"idle culler {option}"] = number
            service = {k: v for k, v in service.items() if k != "command"}
            if set(service) <= {"name"}:
                continue
        rest.append(service)
    return rest


def _number(text: str) -> Any:
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _flatten(value: Any, path: tuple[str, ...], rows: dict[str, Any]) -> None:
    """Nested mappings, and lists of named entries, one row per leaf."""
    names = _names(value) if isinstance(value, list) else None
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, (*path, key), rows)
    elif names is not None:
        for name, item in zip(names, value, strict=True):
            _flatten(
                {k: v for k, v in item.items() if k != "name"},
                (*path, f"[{name}]"),
                rows,
            )
    else:
        rows[_path(path)] = _Hidden(value) if _secret_row(path, value) else value


def _path(parts: tuple[str, ...]) -> str:
    text = parts[0]
    for part in parts[1:]:
        if part.startswith("["):
            text += part
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            text += f".{part}"
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _secret_row(path: tuple[str, ...], value: Any) -> bool:
    """A leaf under a secret-looking name, the ``value`` of one, or a private key."""
    if _secret_value(value):
        return True
    if isinstance(value, bool) or value is None:
        return False
    names = [part.strip("[]") for part in path]
    above = ".".join(names[:-1])
    env = any(n in _ENV_MAPS for n in names[:-1]) and isinstance(value, str)
    return (
        secret_key(names[-1], above)
        or (names[-1] == "value" and len(names) > 1 and secret_key(names[-2]))
        or (env and not plainly_not_secret(value))
    )


_GROUPS = (
    ("KubeSpawner.", "BinderSpawner.", "Spawner."),
    ("ResourcePolicy.",),
    ("ServerQuota.",),
    ("idle culler",),
    ("JupyterHub.authenticator_class", "Authenticator"),
    ("JupyterHub.",),
)


def _group(path: str) -> int:
    section = path.split(".")[0]
    for n, prefixes in enumerate(_GROUPS):
        if path.startswith(prefixes) or section.endswith(tuple(prefixes)):
            return n
    return len(_GROUPS)


def _shown_value(value: Any) -> str:
    return "(unset)" if value is _ABSENT else json.dumps(value, sort_keys=True)


def _configurables() -> dict[str, type]:
    """Every configurable class loaded now (the hub's, upstream's and ours),
    by name, as a values file's ``hub.config`` names them."""
    from traitlets.config import Configurable

    found, todo = {}, [Configurable]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo += cls.__subclasses__()
    return found


def trait_default(key: str, classes: dict[str, type]) -> Any:
    """A "Section.trait" row's default when the values leave it unset, so an
    explicit setting equal to the default is no change; _ABSENT when the
    default is not a plain value (computed at run time) or not known."""
    section, _, trait = key.partition(".")
    cls = classes.get(section)
    traits = cls.class_traits(config=True) if cls else {}
    if not re.fullmatch(r"[A-Za-z_]\w*", trait) or trait not in traits:
        return _ABSENT
    try:
        value = traits[trait].default()
    except Exception:  # a dynamic default needs an instance
        return _ABSENT
    if isinstance(value, set | frozenset | tuple):
        value = (
            sorted(value, key=repr)
            if isinstance(value, set | frozenset)
            else list(value)
        )
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return json.loads(json.dumps(value, default=str))
    return _ABSENT


def _shown_or_default(value: Any, default: Any) -> str:
    if value is _ABSENT and default is not _ABSENT:
        return f"(default) {_shown_value(default)}"
    return _shown_value(value)


def config_section(a: Side, b: Side) -> list[str]:
    keys = sorted(set(a.config) | set(b.config), key=lambda k: (_group(k), k))
    classes = _configurables()
    lines = []
    for key in keys:
        old, new = a.config.get(key, _ABSENT), b.config.get(key, _ABSENT)
        default = trait_default(key, classes) if _ABSENT in (old, new) else _ABSENT
        effective = [default if v is _ABSENT else v for v in (old, new)]
        if old == new or effective[0] == effective[1]:
            continue
        if isinstance(old, _Hidden) or isinstance(new, _Hidden):
            state = (
                "(changed)"
                if _ABSENT not in (old, new)
                else ("(added)" if old is _ABSENT else "(removed)")
            )
            lines.append(f"  {key}: {state}")
        else:
            old, new = masked(old, new, path=key)
            shown = [_shown_or_default(v, default) for v in (old, new)]
            lines.append(f"  {key}: {shown[0]} -> {shown[1]}")
    return lines


# --- the sample launch ------------------------------------------------------


def launch_section(a: Side, b: Side) -> list[str]:
    if a.launch == b.launch:
        return []
    lines = []
    for label, side in (("A", a), ("B", b)):
        if isinstance(side.launch, str):
            lines.append(f"  {label} ({side.name}) refuses the launch, saying:")
            lines += [f"    {line}" for line in side.launch.splitlines()]
    if isinstance(a.launch, str) or isinstance(b.launch, str):
        return lines
    for kind in ("pod", "pvc"):
        old, new = a.launch.get(kind), b.launch.get(kind)
        if old == new:
            continue
        name = object_id(new or old or {})
        lines += unified(
            old if old is not None else _ABSENT,
            new if new is not None else _ABSENT,
            f"A {name}",
            f"B {name}",
        )
    return lines


# --- the command ------------------------------------------------------------


def run(
    a: str,
    b: str,
    spec: str = DEFAULT_SPEC,
    user: str = "user",
    resources_path: Path | None = None,
    out: TextIO | None = None,
    verbose: bool = False,
    stdin: TextIO | None = None,
) -> int:
    """The command: 0 no differences, 1 differences, 2 an error (one line)."""
    out = out or sys.stdout
    try:
        from offline import chart  # noqa: F401 - a clone of the project is needed
    except ImportError:
        print(
            "error: diff renders the chart: run it in a clone of the project "
            "after `make setup`",
            file=sys.stderr,
        )
        return EXIT_ERROR
    from offline.preview import _no_cluster, _read_file

    if a == "-" and b == "-":
        print("error: only one side can be - (stdin)", file=sys.stderr)
        return EXIT_ERROR
    log = io.StringIO()
    hub_log = RedactedLines(sys.stderr) if verbose else log
    quiet = contextlib.redirect_stderr(hub_log)
    # A person at a terminal is told what the ten seconds go on; a pipe is not.
    terminal = sys.stderr if sys.stderr.isatty() else None
    try:
        user_options(spec)  # a bad spec fails before anything is rendered
        try:
            resources = _read_file(resources_path) if resources_path else None
        except OSError as error:
            why = error.strerror or str(error).removeprefix(f"{resources_path}: ")
            raise DiffError(f"{resources_path}: {why}") from None
        launch = _Launch(spec, user, resources)
        values = [read_values(name, stdin or sys.stdin) for name in (a, b)]
        _no_cluster()  # after the files: one it refuses is refused at once
        sides = []
        for label, name, side in zip("AB", (a, b), values, strict=True):
            if terminal:
                print(
                    f"{label}: rendering {name}, running its hub's configuration "
                    "and the sample launch...",
                    file=terminal,
                    flush=True,
                )
            with quiet:
                sides.append(prepare(name, side, launch, hub_log))
    except (DiffError, SpecError) as error:
        print(f"error: {redacted(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    old, new = sides
    what = "no .resources" if resources is None else f".resources from {resources_path}"
    sections = [
        ("Rendered objects", objects_section(old, new)),
        ("Effective hub configuration", config_section(old, new)),
        (f"Sample launch: {spec} by {user}, {what}", launch_section(old, new)),
    ]
    print(f"A: {old.name}\nB: {new.name}", file=out)
    for n, (title, lines) in enumerate(sections, 1):
        print(f"\n{n}. {title}: {'changed' if lines else 'no change'}", file=out)
        for line in lines:
            print(line, file=out)
    return EXIT_DIFFERENT if any(lines for _, lines in sections) else EXIT_SAME
