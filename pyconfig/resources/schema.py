"""The `.resources` JSON Schema, loaded from the file the chart ships.

The parser takes its key names, bounds and types from this one file, so the
documentation, the schema repository authors read and the hub's checks cannot
disagree.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema

#: Beside this module in the chart's ConfigMap and in a wheel; a symlink to
#: ``schemas/resources.schema.json`` in the repository.
SCHEMA_PATH = Path(__file__).with_name("resources.schema.json")

# Keywords that only annotate; jsonschema ignores them when validating, so
# leaving them out of the per-key validators changes no verdict, only speed.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "title", "description", "default", "examples"}
)


@lru_cache(maxsize=1)
def resources_schema() -> dict[str, Any]:
    """The schema document as a dict (read once per process)."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@cache
def resource_keys() -> tuple[str, ...]:
    """Valid keys, in the order the schema lists them."""
    return tuple(resources_schema()["properties"])


@cache
def integer_keys() -> frozenset[str]:
    """Keys whose values are whole numbers (stored as int)."""
    return frozenset(k for k in resource_keys() if key_schema(k)["type"] == "integer")


@lru_cache(maxsize=4096, typed=True)
def first_error(key: str, value: int | float) -> tuple[str, Any, str] | None:
    """The first schema error of one value, as (keyword, its value, message).

    A pure function of (key, value), memoized: a hub sees the same few
    amounts (2 cores, 4 GB) over and over, and jsonschema is the costliest
    step of a check.
    """
    error = next(key_validator(key).iter_errors(value), None)
    if error is None:
        return None
    return str(error.validator), error.validator_value, error.message


def clear_caches() -> None:
    """Forget the loaded schema (tests that swap the schema file use this)."""
    for function in (
        resources_schema,
        resource_keys,
        integer_keys,
        key_validator,
        first_error,
        document_validator,
    ):
        function.cache_clear()


def key_schema(key: str) -> dict[str, Any]:
    """The subschema of one key (with its annotations, for docs and messages)."""
    return resources_schema()["properties"][key]


@cache
def key_validator(key: str) -> jsonschema.protocols.Validator:
    """A validator for one key's value.

    Validating each value against its property subschema gives the same
    verdict as validating the whole mapping (the schema is a flat object with
    ``additionalProperties: false`` and no ``required``, and the parser only
    admits keys the schema lists); ``tests/pyconfig/resources/test_schema.py``
    checks that equivalence. It is about four times faster than one whole-document pass.
    """
    sub = {
        name: value
        for name, value in key_schema(key).items()
        if name not in _ANNOTATIONS and not name.startswith("x-")
    }
    return jsonschema.Draft202012Validator(sub)


@lru_cache(maxsize=1)
def document_validator() -> jsonschema.protocols.Validator:
    """A validator for a whole parsed mapping, for tools and tests."""
    return jsonschema.Draft202012Validator(resources_schema())
