"""The deployment's side of `.resources`: defaults, caps and GPU placement.

A traitlets ``Configurable`` so an admin sets it like every other JupyterHub
class, as ``hub.config.ResourcePolicy.<trait>`` in the chart values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import SimpleNamespace

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

# A Kubernetes extended resource name: optional DNS prefix, then a name.
_RESOURCE_NAME = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z"
)


#: The caps a group may change.
CAPS = ("max_cpu", "max_mem", "max_gpu")


class PolicyError(ValueError):
    """The admin's settings contradict each other; names the traits to fix."""


class ResourcePolicy(LoggingConfigurable):
    """Defaults for what a `.resources` file leaves out, and the most it may ask."""

    default_cpu_guarantee = Float(
        1.0,
        help="CPU cores guaranteed when the file sets no cpur.",
    ).tag(config=True, schema={"exclusiveMinimum": 0})
    default_cpu_limit = Float(
        8.0,
        help="Most CPU cores a notebook may use when the file sets no cpul.",
    ).tag(config=True, schema={"exclusiveMinimum": 0})
    default_mem_guarantee = Float(
        1.0,
        help="Memory guaranteed when the file sets no memr, in GB of 1024^3 bytes.",
    ).tag(config=True, schema={"exclusiveMinimum": 0})
    default_mem_limit = Float(
        16.0,
        help="Memory limit when the file sets no meml, in GB of 1024^3 bytes.",
    ).tag(config=True, schema={"exclusiveMinimum": 0})
    default_gpu = Int(
        0,
        help="GPUs attached when the file sets no gpu.",
    ).tag(config=True, schema={"minimum": 0})

    max_cpu = Float(
        32.0,
        help="Cap on cpur and cpul: the most CPU cores one notebook may ask for.",
    ).tag(config=True, schema={"exclusiveMinimum": 0})
    max_mem = Float(
        128.0,
        help="Cap on memr and meml, in GB of 1024^3 bytes.",
    ).tag(config=True, schema={"exclusiveMinimum": 0})
    max_gpu = Int(
        2,
        help="Cap on gpu: the most GPUs one notebook may ask for; 0 for no GPUs.",
    ).tag(config=True, schema={"minimum": 0})

    gpu_resource_name = Unicode(
        "nvidia.com/gpu",
        help="Extended resource a GPU is requested as, e.g. nvidia.com/gpu or "
        "a MIG profile such as nvidia.com/mig-1g.10gb.",
    ).tag(config=True)
    gpu_node_selector = Dict(
        {},
        help="Node labels a notebook with GPUs must run on; merged into "
        "KubeSpawner.node_selector for those notebooks only.",
    ).tag(config=True)
    gpu_tolerations = List(
        Dict(),
        [],
        help="Tolerations added to notebooks with GPUs (for tainted GPU "
        "nodes), after KubeSpawner.tolerations.",
    ).tag(config=True)
    no_gpu_visible_devices = Unicode(
        "void",
        help="NVIDIA_VISIBLE_DEVICES for notebooks without GPUs, so one that "
        "lands on a GPU node sees none; empty to leave it unset.",
    ).tag(config=True)

    group_caps = Dict(
        {},
        help="JupyterHub group -> caps for its members, e.g. {gpu: {max_gpu: 2}} "
        "with max_gpu 0 lets only members of gpu ask for GPUs. Keys are max_cpu, "
        "max_mem, max_gpu. A user's cap is the largest that one of their groups "
        "sets, else the cap above. Groups come from the authenticator (e.g. "
        "GenericOAuthenticator.manage_groups with claim_groups_key).",
    ).tag(config=True)
    max_total_cpu = Float(
        0.0,
        help="Most CPU cores (limits) one user's running servers may have "
        "together; 0 for no total.",
    ).tag(config=True, schema={"minimum": 0})
    max_total_mem = Float(
        0.0,
        help="Most memory (limits, GB of 1024^3 bytes) one user's running "
        "servers may have together; 0 for no total.",
    ).tag(config=True, schema={"minimum": 0})
    max_total_gpu = Int(
        0,
        help="Most GPUs one user's running servers may have together; 0 for no total.",
    ).tag(config=True, schema={"minimum": 0})

    @validate("group_caps")
    def _group_caps(self, proposal):
        for group, caps in proposal.value.items():
            if not isinstance(caps, dict) or not set(caps) <= set(CAPS):
                raise TraitError(
                    f"ResourcePolicy.group_caps.{group} must map some of "
                    f"{', '.join(CAPS)} to numbers, not {caps!r}"
                )
            for cap, value in caps.items():
                if not isinstance(value, int | float) or value < 0:
                    raise TraitError(
                        f"ResourcePolicy.group_caps.{group}.{cap} must be a "
                        f"number of 0 or more, not {value!r}"
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
                    (self.group_caps[g][cap], g) for g in sorted(key)
                    if cap in self.group_caps[g]
                ]  # fmt: skip
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

    @validate(
        "default_cpu_guarantee",
        "default_cpu_limit",
        "default_mem_guarantee",
        "default_mem_limit",
        "max_cpu",
        "max_mem",
    )
    def _positive(self, proposal):
        if not proposal.value > 0:
            raise TraitError(
                f"ResourcePolicy.{proposal.trait.name} must be more than 0, "
                f"not {proposal.value}"
            )
        return proposal.value

    @validate("default_gpu", "max_gpu")
    def _not_negative(self, proposal):
        if proposal.value < 0:
            raise TraitError(
                f"ResourcePolicy.{proposal.trait.name} cannot be negative, "
                f"not {proposal.value}"
            )
        return proposal.value

    @validate("gpu_resource_name")
    def _resource_name(self, proposal):
        if not _RESOURCE_NAME.match(proposal.value):
            raise TraitError(
                "ResourcePolicy.gpu_resource_name must be a Kubernetes "
                f"resource name such as nvidia.com/gpu, not {proposal.value!r}"
            )
        return proposal.value

    _checked: SimpleNamespace | None = None

    def __init__(self, **kwargs):
        self._by_groups: dict[frozenset[str], ResourcePolicy] = {}
        #: Cap trait -> where its value came from, for messages.
        self.cap_labels: dict[str, str] = {}
        super().__init__(**kwargs)

    @observe(All)
    def _forget_checked(self, change) -> None:
        self._checked = None
        self._by_groups = {}

    def checked(self) -> SimpleNamespace:
        """The settings as plain attributes, after :meth:`check`.

        Cached until a setting changes: traitlets attribute access is slow
        enough to matter when thousands of files are checked.
        """
        if self._checked is None:
            self.check()
            names = self.class_trait_names(config=True)
            self._checked = SimpleNamespace(**{n: getattr(self, n) for n in names})
        return self._checked

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
        return found

    def check(self) -> None:
        """Raise :class:`PolicyError` naming every contradiction."""
        found = self.contradictions()
        if found:
            raise PolicyError("; ".join(found))
