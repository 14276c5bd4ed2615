"""The `.resources` schema: valid, documented, and really the parser's source."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyconfig.resources import schema as schema_module
from pyconfig.resources.parser import parse
from pyconfig.resources.problems import ResourcesError
from pyconfig.resources.schema import (
    SCHEMA_PATH,
    document_validator,
    key_validator,
    resource_keys,
    resources_schema,
)
from tests.conftest import ROOT


def test_schema_is_valid_draft_2020_12():
    schema = resources_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False


def test_the_shipped_schema_is_the_repository_schema():
    """pyconfig/ links to schemas/: the chart and wheel ship this very file."""
    assert SCHEMA_PATH.resolve() == (ROOT / "schemas" / "resources.schema.json")


def test_keys_are_the_seed_keys():
    assert resource_keys() == ("gpu", "cpur", "cpul", "memr", "meml")


@pytest.mark.parametrize("key", ["gpu", "cpur", "cpul", "memr", "meml"])
def test_every_key_is_documented_with_valid_examples_and_default(key):
    spec = resources_schema()["properties"][key]
    assert len(spec["description"]) > 40
    assert spec["x-unit"]
    for example in [*spec["examples"], spec["default"]]:
        assert document_validator().is_valid({key: example}), example


MAPPINGS = st.dictionaries(
    st.sampled_from(["gpu", "cpur", "cpul", "memr", "meml"]),
    st.one_of(
        st.integers(min_value=-5, max_value=5000),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=5000),
    ),
)


@settings(max_examples=500, deadline=None)
@given(MAPPINGS)
def test_per_key_validation_agrees_with_whole_document_validation(mapping):
    per_key = all(key_validator(k).is_valid(v) for k, v in mapping.items())
    assert per_key == document_validator().is_valid(mapping)


def test_parser_follows_the_schema_file(tmp_path, monkeypatch):
    """Tighten a bound in a copy of the schema: the parser follows it."""
    changed = json.loads(SCHEMA_PATH.read_text())
    changed["properties"]["cpul"]["maximum"] = 4
    copy = tmp_path / "resources.schema.json"
    copy.write_text(json.dumps(changed))
    assert parse("cpul=5").values == {"cpul": 5}
    monkeypatch.setattr(schema_module, "SCHEMA_PATH", copy)
    schema_module.clear_caches()
    try:
        with pytest.raises(ResourcesError, match="at most 4 CPU cores"):
            parse("cpul=5")
    finally:
        monkeypatch.undo()
        schema_module.clear_caches()
    assert parse("cpul=5").values == {"cpul": 5}


def test_each_smallest_amount_is_one_kubernetes_keeps():
    """The schema's minimum is the one rule the parser, the docs and repo
    authors see; the profile mapper must turn it into a positive quantity."""
    from pyconfig.resources.kubespawner_settings import (
        MIN_CPU_CORES,
        MIN_MEM_BYTES,
        gb_to_bytes,
    )

    properties = resources_schema()["properties"]
    for key, spec in properties.items():
        assert "exclusiveMinimum" not in spec, key  # the minimum is the smallest
    assert properties["gpu"]["type"] == "integer"
    for key in ("cpur", "cpul"):
        assert properties[key]["minimum"] >= MIN_CPU_CORES
    for key in ("memr", "meml"):
        assert gb_to_bytes(properties[key]["minimum"]) >= MIN_MEM_BYTES
