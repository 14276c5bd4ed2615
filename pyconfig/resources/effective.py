"""Effective resources: the deployment's defaults overlaid with the file.

Each value remembers where it came from, because "why did my notebook get 8
CPUs?" is the question users and admins ask, and the answer is the source.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from .parser import Number, ResourcesFile, parse_collecting
from .policy import ResourcePolicy
from .problems import Problem, ProblemKind, ResourcesError, with_unit
from .schema import key_schema


class Source(StrEnum):
    FILE = "file"
    DEFAULT = "default"
    ADJUSTED = "adjusted"


class Setting(NamedTuple):
    """One effective value and where it came from."""

    value: Number
    source: Source
    line: int | None = None
    note: str = ""

    def describe(self, source_name: str = ".resources") -> str:
        if self.source is Source.FILE:
            return f"{source_name} line {self.line}"
        if self.source is Source.ADJUSTED:
            return self.note
        return "default"

    def as_json(self) -> dict[str, object]:
        return {
            "value": self.value,
            "source": self.source.value,
            "line": self.line,
            "note": self.note or None,
        }


class EffectiveResources(NamedTuple):
    """What a notebook gets: CPU in cores, memory in GB of 1024^3 bytes."""

    cpu_guarantee: Setting
    cpu_limit: Setting
    mem_guarantee: Setting
    mem_limit: Setting
    gpu: Setting

    def as_json(self) -> dict[str, dict[str, object]]:
        """Each setting; CPU and memory always as floats, GPUs as an integer."""
        found = {name: getattr(self, name).as_json() for name in self._fields}
        for name, setting in found.items():
            kind = int if name == "gpu" else float
            setting["value"] = kind(setting["value"])
        return found


class _Pair(NamedTuple):
    """A request/limit pair of keys and the policy values that govern it."""

    request_key: str
    limit_key: str
    default_request: float
    default_limit: float
    cap: float
    cap_trait: str


def evaluate(
    data: bytes | str, policy: ResourcePolicy, source: str = ".resources"
) -> EffectiveResources:
    """Parse and overlay in one go, reporting every problem of both steps."""
    parsed, problems = parse_collecting(data)
    return evaluate_parsed(parsed, problems, policy, source)


def evaluate_parsed(
    parsed: ResourcesFile,
    problems: list[Problem],
    policy: ResourcePolicy,
    source: str = ".resources",
    total: int | None = None,
) -> EffectiveResources:
    """Overlay an already parsed file, reporting its parse problems with ours.

    ``total`` is the parse problem count when ``problems`` was cut short.
    """
    result, more = _overlay(parsed, policy)
    if problems or more:
        count = max(total or 0, len(problems)) + len(more)
        raise ResourcesError(list(problems) + more, source, total=count)
    return result


def _overlay(
    parsed: ResourcesFile, policy: ResourcePolicy
) -> tuple[EffectiveResources, list[Problem]]:
    settings = policy.snapshot()
    problems: list[Problem] = []
    cpu = _pair(
        parsed,
        _Pair(
            "cpur",
            "cpul",
            settings.default_cpu_guarantee,
            settings.default_cpu_limit,
            settings.max_cpu,
            "max_cpu",
        ),
        problems,
        policy,
    )
    mem = _pair(
        parsed,
        _Pair(
            "memr",
            "meml",
            settings.default_mem_guarantee,
            settings.default_mem_limit,
            settings.max_mem,
            "max_mem",
        ),
        problems,
        policy,
    )
    gpu = _given_or_default(parsed, "gpu", settings.default_gpu)
    _check_cap("gpu", gpu, settings.max_gpu, "max_gpu", problems, policy)
    return EffectiveResources(cpu[0], cpu[1], mem[0], mem[1], gpu), problems


def _given_or_default(parsed: ResourcesFile, key: str, default: Number) -> Setting:
    if key in parsed.values:
        return Setting(parsed.values[key], Source.FILE, parsed.lines[key])
    return Setting(default, Source.DEFAULT)


def _pair(
    parsed: ResourcesFile,
    pair: _Pair,
    problems: list[Problem],
    policy: ResourcePolicy,
) -> tuple[Setting, Setting]:
    request = _given_or_default(parsed, pair.request_key, pair.default_request)
    limit = _given_or_default(parsed, pair.limit_key, pair.default_limit)
    req_given = request.source is Source.FILE
    lim_given = limit.source is Source.FILE
    if req_given and not lim_given and request.value > limit.value:
        limit = Setting(
            request.value,
            Source.ADJUSTED,
            request.line,
            f"raised to {pair.request_key} (line {request.line})",
        )
    elif lim_given and not req_given and limit.value < request.value:
        request = Setting(
            limit.value,
            Source.ADJUSTED,
            limit.line,
            f"lowered to {pair.limit_key} (line {limit.line})",
        )
    elif req_given and lim_given and request.value > limit.value:
        problems.append(
            Problem(
                ProblemKind.REQUEST_OVER_LIMIT,
                request.line,
                f"{pair.request_key}={_fmt(request.value)}",
                f"{pair.request_key} ({_fmt(request.value)}) is more than "
                f"{pair.limit_key} ({_fmt(limit.value)}, line {limit.line}); "
                f"the request cannot exceed the limit: raise {pair.limit_key} "
                f"or lower {pair.request_key}",
            )
        )
    for key, setting in ((pair.request_key, request), (pair.limit_key, limit)):
        _check_cap(key, setting, pair.cap, pair.cap_trait, problems, policy)
    return request, limit


def _check_cap(
    key: str,
    setting: Setting,
    cap: Number,
    cap_trait: str,
    problems: list[Problem],
    policy: ResourcePolicy,
) -> None:
    # Only values written in the file are blamed: an adjusted value equals one
    # that is, and defaults above a cap are the admin's error (policy.check).
    if setting.source is not Source.FILE or setting.value <= cap:
        return
    unit = key_schema(key).get("x-unit", "")
    if cap == 0:
        advice = f"this service has no {unit} for you: delete the line"
    else:
        advice = f"ask for at most {_fmt(cap)}"
    groups = policy.raising_groups(cap_trait, setting.value)
    if groups:
        advice += f" (members of {', '.join(groups)} may ask for more)"
    label = policy.cap_labels.get(cap_trait, f"ResourcePolicy.{cap_trait}")
    problems.append(
        Problem(
            ProblemKind.OVER_CAP,
            setting.line,
            f"{key}={_fmt(setting.value)}",
            f"{key} is over this service's cap of {with_unit(_fmt(cap), unit)} "
            f"({label}); {advice}",
        )
    )


def _fmt(value: Number) -> str:
    """A number as an author would write it: 2, not 2.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
