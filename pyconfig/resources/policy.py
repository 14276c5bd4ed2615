"""The deployment's side of `.resources`: defaults, caps and GPU placement.

A traitlets ``Configurable`` so an admin sets it like every other JupyterHub
class, as ``hub.config.ResourcePolicy.<trait>`` in the chart values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from types import SimpleNamespace

import jsonschema
from traitlets import (
    All,
    Dict,
    Float,
    Int,
    List,
    TraitError,
    Unicode,
    observe,
    validate,
)
from traitlets.config import LoggingConfigurable

from .schema import key_schema

# A Kubernetes extended resource name: optional DNS prefix, then a name.
_RESOURCE_NAME = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z"
)


#: The bounds of the numeric settings, in JSON Schema: the one definition of
#: each. The chart schema takes them from the traits' ``schema`` tags
#: (tools/render_schema.py); :func:`bound_problem` applies them here.
MORE_THAN_ZERO = {"exclusiveMinimum": 0}
#: A default amount: no less than a `.resources` file may ask for (its
#: schema's minimum, the smallest amount Kubernetes keeps), so a default can
#: never round to nothing and leave a pod without a request or limit.
AT_LEAST_SMALLEST = {"minimum": key_schema("cpur")["minimum"]}
ZERO_OR_MORE = {"minimum": 0}

#: The caps a group may change, each bounded as the setting it replaces.
CAP_SCHEMAS = {
    "max_cpu": {"type": "number", **MORE_THAN_ZERO},
    "max_mem": {"type": "number", **MORE_THAN_ZERO},
    "max_gpu": {"type": "integer", **ZERO_OR_MORE},
}
CAPS = tuple(CAP_SCHEMAS)
#: ``group_caps``: group name -> some of the caps above, nothing else.
GROUP_CAPS_SCHEMA = {
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "properties": CAP_SCHEMAS,
    }
}

#: ``gpu_node_selector``: label -> value, both strings as Kubernetes wants.
NODE_SELECTOR_SCHEMA = {"additionalProperties": {"type": "string"}}
#: ``gpu_tolerations``: Kubernetes tolerations, the fields typed.
TOLERATIONS_SCHEMA = {
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "key": {"type": "string"},
            "operator": {"enum": ["Exists", "Equal"]},
            "value": {"type": "string"},
            "effect": {"enum": ["", "NoSchedule", "PreferNoSchedule", "NoExecute"]},
            "tolerationSeconds": {"type": "integer"},
        },
    }
}


def schema_problem(value: object, schema: Mapping[str, object]) -> str | None:
    """The first way ``value`` breaks a JSON Schema tag, or None."""
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(value)
    )
    if error is None:
        return None
    where = "".join(f"[{part!r}]" for part in error.absolute_path)
    return f"{where}: {error.message}"


def bound_problem(value: object, schema: Mapping[str, object]) -> str | None:
    """Why ``value`` breaks a JSON Schema's type and bounds, or None.

    NaN and infinity break every bound: JSON cannot carry them, so the chart
    schema never sees one, and NaN compares false with everything.
    """
    wanted = schema.get("type", "number")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be {'a whole number' if wanted == 'integer' else 'a number'}"
    if wanted == "integer" and not (isinstance(value, int) or value.is_integer()):
        return "must be a whole number"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    low = schema.get("exclusiveMinimum")
    if isinstance(low, int | float) and not value > low:
        return f"must be more than {low}"
    low = schema.get("minimum")
    if isinstance(low, int | float) and not value >= low:
        return "cannot be negative" if low == 0 else f"must be at least {low}"
    high = schema.get("exclusiveMaximum")
    if isinstance(high, int | float) and not value < high:
        return f"must be less than {high}"
    high = schema.get("maximum")
    if isinstance(high, int | float) and not value <= high:
        return f"must be at most {high}"
    return None


class Number(Float):
    """A Float held to its ``schema`` tag's bounds; refuses booleans, NaN, inf."""

    def validate(self, obj, value):
        if isinstance(value, bool):  # Float would take True as 1.0
            self.error(obj, value)
        try:
            value = super().validate(obj, value)
        except OverflowError:  # an int too large for a float
            value = math.inf
        _check_bounds(obj, self, value)
        return value


class Count(Int):
    """An Int held to its ``schema`` tag's bounds; refuses booleans.

    Takes 2.0 as 2, as JSON Schema and Helm do (both see one number).
    """

    def validate(self, obj, value):
        if isinstance(value, bool):  # Int would take True as 1
            self.error(obj, value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = super().validate(obj, value)
        _check_bounds(obj, self, value)
        return value


def _check_bounds(obj: object, trait: Float | Int, value: float) -> None:
    problem = bound_problem(value, trait.metadata.get("schema", {}))
    if problem:
        raise TraitError(f"{type(obj).__name__}.{trait.name} {problem}, not {value!r}")


class PolicyError(ValueError):
    """The admin's settings contradict each other; names the traits to fix."""


class ResourcePolicy(LoggingConfigurable):
    """Defaults for what a `.resources` file leaves out, and the most it may ask."""

    default_cpu_guarantee = Number(
        1.0,
        help="CPU cores guaranteed when the file sets no cpur.",
    ).tag(config=True, schema=AT_LEAST_SMALLEST)
    default_cpu_limit = Number(
        8.0,
        help="Most CPU cores a notebook may use when the file sets no cpul.",
    ).tag(config=True, schema=AT_LEAST_SMALLEST)
    default_mem_guarantee = Number(
        1.0,
        help="Memory guaranteed when the file sets no memr, in GB of 1024^3 bytes.",
    ).tag(config=True, schema=AT_LEAST_SMALLEST)
    default_mem_limit = Number(
        16.0,
        help="Memory limit when the file sets no meml, in GB of 1024^3 bytes.",
    ).tag(config=True, schema=AT_LEAST_SMALLEST)
    default_gpu = Count(
        0,
        help="GPUs attached when the file sets no gpu.",
    ).tag(config=True, schema=ZERO_OR_MORE)

    max_cpu = Number(
        32.0,
        help="Cap on cpur and cpul: the most CPU cores one notebook may ask for.",
    ).tag(config=True, schema=MORE_THAN_ZERO)
    max_mem = Number(
        128.0,
        help="Cap on memr and meml, in GB of 1024^3 bytes.",
    ).tag(config=True, schema=MORE_THAN_ZERO)
    max_gpu = Count(
        2,
        help="Cap on gpu: the most GPUs one notebook may ask for; 0 for no GPUs.",
    ).tag(config=True, schema=ZERO_OR_MORE)

    gpu_resource_name = Unicode(
        "nvidia.com/gpu",
        help="Extended resource a GPU is requested as, e.g. nvidia.com/gpu or "
        "a MIG profile such as nvidia.com/mig-1g.10gb.",
    ).tag(config=True)
    gpu_node_selector = Dict(
        {},
        help="Node labels a notebook with GPUs must run on; merged into "
        "KubeSpawner.node_selector for those notebooks only.",
    ).tag(config=True, schema=NODE_SELECTOR_SCHEMA)
    gpu_tolerations = List(
        Dict(),
        [],
        help="Tolerations added to notebooks with GPUs (for tainted GPU "
        "nodes), after KubeSpawner.tolerations.",
    ).tag(config=True, schema=TOLERATIONS_SCHEMA)
    no_gpu_visible_devices = Unicode(
        "void",
        help="NVIDIA_VISIBLE_DEVICES for notebooks without GPUs, so one that "
        "lands on a GPU node sees none; empty to leave it unset.",
    ).tag(config=True)

    group_caps = Dict(
        {},
        help="""JupyterHub group -> caps for its members. Keys are max_cpu,
        max_mem and max_gpu, each bounded as the cap of that name and not
        below its default. A user's cap is the largest that one of their
        groups sets, else the cap above. Groups come from the authenticator
        (e.g. GenericOAuthenticator.manage_groups with auth_state_groups_key).
        For example, only members of gpu may ask for GPUs (two at most), and
        members of teachers for up to 256 GB of memory::

            binderhub:
              jupyterhub:
                hub:
                  config:
                    ResourcePolicy:
                      max_gpu: 0
                      group_caps:
                        gpu:
                          max_gpu: 2
                        teachers:
                          max_mem: 256
        """,
    ).tag(config=True, schema=GROUP_CAPS_SCHEMA)
    max_total_cpu = Number(
        0.0,
        help="Most CPU cores (limits) one user's running servers may have "
        "together; 0 for no total.",
    ).tag(config=True, schema=ZERO_OR_MORE)
    max_total_mem = Number(
        0.0,
        help="Most memory (limits, GB of 1024^3 bytes) one user's running "
        "servers may have together; 0 for no total.",
    ).tag(config=True, schema=ZERO_OR_MORE)
    max_total_gpu = Count(
        0,
        help="Most GPUs one user's running servers may have together; 0 for no total.",
    ).tag(config=True, schema=ZERO_OR_MORE)

    @validate("gpu_node_selector", "gpu_tolerations")
    def _kubernetes_shaped(self, proposal):
        problem = schema_problem(proposal.value, proposal.trait.metadata["schema"])
        if problem:
            raise TraitError(f"ResourcePolicy.{proposal.trait.name}{problem}")
        return proposal.value

    @validate("group_caps")
    def _group_caps(self, proposal):
        for group, caps in proposal.value.items():
            if not isinstance(caps, dict) or not set(caps) <= set(CAPS):
                raise TraitError(
                    f"ResourcePolicy.group_caps.{group} must map some of "
                    f"{', '.join(CAPS)} to numbers, not {caps!r}"
                )
            for cap, value in caps.items():
                problem = bound_problem(value, CAP_SCHEMAS[cap])
                if problem:
                    raise TraitError(
                        f"ResourcePolicy.group_caps.{group}.{cap} {problem} "
                        f"(as ResourcePolicy.{cap}), not {value!r}"
                    )
        return proposal.value

    def for_groups(self, groups: Iterable[str]) -> ResourcePolicy:
        """This policy with the caps of these groups applied (cached)."""
        key = frozenset(g for g in groups if g in self.group_caps)
        if not key:
            return self
        cached = self._by_groups.get(key)
        if cached is None:
            values = {n: getattr(self, n) for n in self.class_trait_names(config=True)}
            labels = {}
            for cap in CAPS:
                granted = [
                    (self.group_caps[g][cap], g)
                    for g in sorted(key)
                    if cap in self.group_caps[g]
                ]
                if granted:
                    values[cap], group = max(granted)
                    labels[cap] = f"ResourcePolicy.group_caps.{group}.{cap}"
            cached = ResourcePolicy(**values)
            cached.cap_labels = labels
            self._by_groups[key] = cached
        return cached

    def raising_groups(self, cap: str, value: float) -> list[str]:
        """Groups whose members may ask for ``value`` under ``cap``."""
        return sorted(
            g for g, caps in self.group_caps.items() if caps.get(cap, -1) >= value
        )

    @validate("gpu_resource_name")
    def _resource_name(self, proposal):
        if not _RESOURCE_NAME.match(proposal.value):
            raise TraitError(
                "ResourcePolicy.gpu_resource_name must be a Kubernetes "
                f"resource name such as nvidia.com/gpu, not {proposal.value!r}"
            )
        return proposal.value

    _snapshot: SimpleNamespace | None = None

    def __init__(self, **kwargs):
        self._by_groups: dict[frozenset[str], ResourcePolicy] = {}
        #: Cap trait -> where its value came from, for messages.
        self.cap_labels: dict[str, str] = {}
        super().__init__(**kwargs)

    @observe(All)
    def _forget_snapshot(self, change) -> None:
        self._snapshot = None
        self._by_groups = {}

    def snapshot(self) -> SimpleNamespace:
        """The settings as plain attributes; raises :class:`PolicyError` (see
        :meth:`check`) when they contradict each other.

        Cached until a setting changes: traitlets attribute access is slow
        enough to matter when thousands of files are checked.
        """
        if self._snapshot is None:
            self.check()
            names = self.class_trait_names(config=True)
            self._snapshot = SimpleNamespace(**{n: getattr(self, n) for n in names})
        return self._snapshot

    def contradictions(self) -> list[str]:
        """Settings that cannot hold together (checked when the policy is used)."""
        found = []
        for what, guarantee, limit, cap in (
            ("cpu", self.default_cpu_guarantee, self.default_cpu_limit, self.max_cpu),
            ("mem", self.default_mem_guarantee, self.default_mem_limit, self.max_mem),
        ):
            if guarantee > limit:
                found.append(
                    f"ResourcePolicy.default_{what}_guarantee ({guarantee}) is "
                    f"above ResourcePolicy.default_{what}_limit ({limit})"
                )
            if limit > cap:
                found.append(
                    f"ResourcePolicy.default_{what}_limit ({limit}) is above "
                    f"ResourcePolicy.max_{what} ({cap})"
                )
        if self.default_gpu > self.max_gpu:
            found.append(
                f"ResourcePolicy.default_gpu ({self.default_gpu}) is above "
                f"ResourcePolicy.max_gpu ({self.max_gpu})"
            )
        return found + self._group_contradictions()

    def _group_contradictions(self) -> list[str]:
        """Group caps below a default: each member's launch would fail."""
        defaults = {
            "max_cpu": ("default_cpu_limit", self.default_cpu_limit),
            "max_mem": ("default_mem_limit", self.default_mem_limit),
            "max_gpu": ("default_gpu", self.default_gpu),
        }
        found = []
        for group, caps in sorted(self.group_caps.items()):
            for cap, value in caps.items():
                name, default = defaults[cap]
                if default > value:
                    found.append(
                        f"ResourcePolicy.{name} ({default}) is above "
                        f"ResourcePolicy.group_caps.{group}.{cap} ({value})"
                    )
        return found

    def check(self) -> None:
        """Raise :class:`PolicyError` naming every contradiction."""
        found = self.contradictions()
        if found:
            raise PolicyError("; ".join(found))
