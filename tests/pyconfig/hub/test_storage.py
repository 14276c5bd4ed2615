"""UserStorage.capacity: a Kubernetes quantity, checked by the trait and the chart."""

from __future__ import annotations

import json
import re

import pytest
from traitlets import TraitError
from traitlets.config import Config

from pyconfig.hub.storage import CAPACITY_MAX_LENGTH, CAPACITY_PATTERN, UserStorage
from tests.conftest import ROOT

VALID = ["10Gi", "500M", "1.5Ti", "1e9", "20Gi", "+1Ki", ".5Gi", "1E3", "100"]
INVALID = [
    "lots",
    "10GB",
    "-5Gi",
    "0",
    "",
    "10 Gi",
    "Gi",
    "0Gi",
    "0.0",
    "1.5.Gi",
    "10Gi\n",
    "1e",
    "1e1.5",
    "10gi",
    "\u0661\u0660Gi",  # Arabic-Indic digits: Python's \d would take them
    "1" * CAPACITY_MAX_LENGTH + "Gi",
]


@pytest.mark.parametrize("value", VALID)
def test_kubernetes_quantities_are_accepted(value):
    assert UserStorage(capacity=value).capacity == value
    config = Config({"UserStorage": {"capacity": value}})
    assert UserStorage(config=config).kubespawner_config()["storage_capacity"] == value


@pytest.mark.parametrize("value", INVALID)
def test_other_values_are_refused_naming_the_setting_and_an_example(value):
    with pytest.raises(TraitError) as caught:
        UserStorage(config=Config({"UserStorage": {"capacity": value}}))
    message = str(caught.value)
    assert "UserStorage.capacity" in message
    assert repr(value) in message
    assert "10Gi" in message


def test_the_default_is_valid():
    assert re.fullmatch(CAPACITY_PATTERN, UserStorage().capacity)


def chart_capacity_schema() -> dict:
    """The capacity property wherever the generated chart schema has it."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "UserStorage" in node.get("properties", {}):
                found.append(node["properties"]["UserStorage"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    schema = json.loads((ROOT / "chart" / "values.schema.json").read_text())
    walk(schema)
    assert found, "no UserStorage in chart/values.schema.json"
    return found[0]["properties"]["capacity"]


def test_the_chart_schema_uses_the_validators_own_pattern():
    """One definition: Helm refuses at template time what the hub refuses."""
    capacity = chart_capacity_schema()
    assert capacity["pattern"] == CAPACITY_PATTERN
    assert capacity["maxLength"] == CAPACITY_MAX_LENGTH


@pytest.mark.parametrize("value", VALID + INVALID)
def test_schema_and_validator_agree(value):
    import jsonschema

    schema = chart_capacity_schema()
    by_schema = jsonschema.Draft202012Validator(schema).is_valid(value)
    try:
        UserStorage(capacity=value)
        by_trait = True
    except TraitError:
        by_trait = False
    # Python's re.search lets "$" match before a final newline; ECMA and Go
    # (what Helm uses) do not, and the trait uses fullmatch like them.
    assert by_schema == by_trait or value.endswith("\n")


def test_the_pattern_is_linear_on_long_near_misses():
    """No nested quantifiers: a long almost-number fails fast."""
    for bad in ("0" * 100_000 + "x", "1" * 100_000 + ".x", "." + "0" * 100_000):
        assert re.fullmatch(CAPACITY_PATTERN, bad) is None
