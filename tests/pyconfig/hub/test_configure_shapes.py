"""configure(c) against every shape earlier and later config steps can leave.

z2jh's jupyterhub_config.py, the binderhub chart's snippets and an admin's
hub.extraConfig snippets run before configure(c), and an admin's snippets
sorted after ours run after it. Hypothesis plays random sequences of what they
do to ``volumes``, ``volume_mounts`` and ``environment`` (assignments, the
LazyConfigValue operations, list and dict operations, ``Config.merge``), runs
configure(c) once or twice among them, and checks the pod KubeSpawner itself
builds: every entry any step added is there exactly once, and so are ours.
Assignments before configure(c) replace what was there, as in traitlets; after
it they would replace ours too, so only adding operations are played there.
"""

from __future__ import annotations

import json
import operator
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from traitlets.config import Config

from pyconfig.hub.configure import configure
from pyconfig.hub.ssh_keys import SSHKeys
from pyconfig.hub.storage import UserStorage
from tests.pyconfig.hub.test_configure import HOME, environment, pod_manifest

#: What each operation may be applied to: the trait's shape so far.
VOLUME_OPS = {
    "absent": ["append", "extend", "insert", "prepend", "update", "merge", "assign"],
    "lazy": ["append", "extend", "insert", "prepend", "update", "merge", "assign"],
    "list": ["append", "extend", "insert", "iadd", "merge", "assign"],
    "dict": ["update", "setitem", "merge", "assign"],
    "configured": ["append", "extend", "insert", "iadd", "update", "setitem"],
}
ENV_OPS = {
    "absent": ["update", "append", "extend", "merge", "assign"],
    "lazy": ["update", "append", "extend", "merge", "assign"],
    "dict": ["update", "setitem", "merge", "assign"],
    "configured": ["update", "setitem"],
}
ENV_KINDS = ["text", "value_from", "callable"]


class Plan:
    """A Config under test and what its pod must hold, step by step."""

    def __init__(self) -> None:
        self.c = Config()
        self.shape = dict.fromkeys(
            ("volumes", "volume_mounts", "environment"), "absent"
        )
        #: trait -> key -> the entry as it must appear in the pod.
        self.expected: dict[str, dict[str, Any]] = {t: {} for t in self.shape}
        self.serial = 0
        #: Traits whose LazyConfigValue holds an .update.
        self.updated: set[str] = set()

    def _entry(self, trait: str, kind: str) -> tuple[str, Any, Any]:
        """(key, entry as configured, entry as in the pod) of a fresh entry."""
        self.serial += 1
        n = self.serial
        if trait == "volumes":
            entry = {"name": f"v{n}", "secret": {"secretName": f"{{username}}-s{n}"}}
            return (
                f"v{n}",
                entry,
                {"name": f"v{n}", "secret": {"secretName": f"alice-s{n}"}},
            )
        if trait == "volume_mounts":
            entry = {"name": f"v{n}", "mountPath": f"/data/{{username}}/{n}"}
            return f"m{n}", entry, {"name": f"v{n}", "mountPath": f"/data/alice/{n}"}
        if kind == "env_var":  # a list item: a Kubernetes EnvVar
            return f"E{n}", {"name": f"E{n}", "value": f"{n}"}, {"value": f"{n}"}
        if kind == "value_from":
            source = {"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
            return f"E{n}", source, source

        if kind == "callable":

            def value(spawner: Any, n: int = n) -> str:
                return f"called-{spawner.user.name}-{n}"

            return f"E{n}", value, {"value": f"called-alice-{n}"}
        return f"E{n}", f"{{username}}-{n}", {"value": f"alice-{n}"}

    def step(self, data: st.DataObject, trait: str) -> str:
        """Draw one operation that fits the trait's shape, apply it, note it."""
        shape = self.shape[trait]
        op = data.draw(
            st.sampled_from((ENV_OPS if trait == "environment" else VOLUME_OPS)[shape])
        )
        event(f"{shape} {trait}: {op}")  # see pytest --hypothesis-show-statistics
        if trait != "environment":
            kinds = [""]
        elif op in ("append", "extend"):
            kinds = ["env_var"]
        else:
            kinds = ENV_KINDS
        # traitlets 5.14's LazyConfigValue.merge_into drops an earlier lazy's
        # .update when the merged one has none (or an empty one): Config.merge
        # loses it before configure(c) could see it. Not generated.
        fewest = 1 if op == "merge" and trait in self.updated else 0
        count = (
            1
            if op in ("append", "insert", "setitem")
            else data.draw(st.integers(fewest, 3))
        )
        made = [
            self._entry(trait, data.draw(st.sampled_from(kinds))) for _ in range(count)
        ]
        items = [entry for _, entry, _ in made]
        named = {key: entry for key, entry, _ in made}
        # Keyed (a dict's .update) or listed (.extend), where both are possible.
        keyed = trait == "environment" or shape == "dict"
        if not keyed and op == "assign":
            keyed = data.draw(st.booleans())
        elif not keyed and op == "merge" and shape != "list":
            keyed = trait in self.updated or data.draw(st.booleans())  # see above
        spawner = self.c.KubeSpawner
        if op == "assign":
            setattr(spawner, trait, named if keyed else items)
            self.expected[trait] = {}
            self.shape[trait] = "dict" if keyed else "list"
        elif op == "merge":  # Config.merge of another file's LazyConfigValue
            other = Config()
            lazy = getattr(other.KubeSpawner, trait)
            if keyed:
                lazy.update(named)
            else:
                lazy.extend(items)
            self.c.merge(other)
        elif op == "setitem":
            getattr(spawner, trait)[made[0][0]] = items[0]
        elif op == "update":
            getattr(spawner, trait).update(named)
        elif op == "insert":
            getattr(spawner, trait).insert(data.draw(st.integers(0, 3)), items[0])
        elif op == "iadd":  # c.KubeSpawner.volumes += [...]
            setattr(spawner, trait, operator.iadd(getattr(spawner, trait), items))
        else:  # append, extend, prepend
            getattr(getattr(spawner, trait), op)(items[0] if op == "append" else items)
        if shape == "absent" and op != "assign":
            self.shape[trait] = "lazy"
        if self.shape[trait] == "lazy" and (
            op == "update" or (op == "merge" and keyed)
        ):
            self.updated.add(trait)
        elif op == "assign":
            self.updated.discard(trait)
        for key, _, rendered in made:
            self.expected[trait][key] = rendered
        return f"{trait}.{op}({len(made)}{', keyed' if keyed else ''})"

    def configure(self) -> None:
        configure(self.c)
        self.shape = dict.fromkeys(self.shape, "configured")
        self.updated.clear()


_OURS: dict[str, Any] = {}


async def ours(make_spawner: Any) -> dict[str, Any]:
    """Our volumes, mounts and environment in the pod of a Config we alone filled."""
    if _OURS:
        return _OURS
    c = Config()
    configure(c)
    pod = await pod_manifest(make_spawner, c)
    names = {
        *UserStorage().kubespawner_config()["environment"],
        *SSHKeys().kubespawner_config()["environment"],
    }
    env = environment(pod)
    _OURS.update(
        volumes=pod["spec"]["volumes"],
        volume_mounts=pod["spec"]["containers"][0]["volumeMounts"],
        environment={name: env[name] for name in names},
    )
    return _OURS


def _counts(entries: list[Any]) -> Counter[str]:
    return Counter(json.dumps(entry, sort_keys=True) for entry in entries)


async def test_ours_are_what_the_invariant_expects(make_spawner):
    found = await ours(make_spawner)
    assert HOME in found["volumes"]
    assert found["environment"]["PERSISTENT_HOME"] == {"value": "/home/alice-nfs-pvc"}
    assert {"persistent-binderhub-ssh-key", "persistent-binderhub-home"} <= {
        volume["name"] for volume in found["volumes"]
    }


# make_spawner is a factory: examples share it safely (it closes their databases).
@pytest.mark.slow  # 60 hub configurations
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
async def test_every_step_before_and_after_configure_reaches_the_pod_once(
    make_spawner, data
):
    plan = Plan()
    traits = st.sampled_from(sorted(plan.shape))
    log = []
    runs = data.draw(st.integers(1, 2), label="configure runs")
    for phase in range(runs + 1):  # steps, configure(c), [steps, configure(c)], steps
        for _ in range(data.draw(st.integers(0, 6), label="steps")):
            log.append(plan.step(data, data.draw(traits)))
        if phase < runs:
            plan.configure()
            log.append("configure(c)")
    pod = await pod_manifest(make_spawner, plan.c)
    container = pod["spec"]["containers"][0]
    for trait, found in (
        ("volumes", pod["spec"]["volumes"]),
        ("volume_mounts", container["volumeMounts"]),
    ):
        wanted = [*plan.expected[trait].values(), *(await ours(make_spawner))[trait]]
        assert _counts(found) == _counts(wanted), (trait, log)
    env = environment(pod)  # also: no name twice
    for name, wanted in {
        **plan.expected["environment"],
        **(await ours(make_spawner))["environment"],
    }.items():
        assert env.get(name) == wanted, (name, log)
