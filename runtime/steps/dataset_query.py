"""dataset-query: look rows up in a dataset kept in the bot's database (by tags, near a place)."""

from __future__ import annotations

from . import schema

TYPE = "dataset-query"
TITLE = "Look up a dataset"
DESCRIPTION = "Find rows in a dataset (branches, products) by tags or distance and keep them in a storage."
AVAILABLE = False
SCHEMA = schema.step(TYPE, {
    "dataset": {"type": "string", "minLength": 1, "maxLength": 64},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 20},
    "near": {"type": "object", "required": ["storage"], "additionalProperties": False, "properties": {
        "storage": {**schema.NAME, "description": "A storage holding {latitude, longitude}."},
        "radiusKm": {"type": "number", "exclusiveMinimum": 0, "maximum": 20_000},
    }},
    "sort": {"type": "object", "additionalProperties": False, "properties": {
        "by": {"enum": ["distance", "field"]}, "field": {"type": "string", "maxLength": 64},
        "order": {"enum": ["asc", "desc"], "default": "asc"},
    }},
    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
    "storage": schema.NAME,
}, required=("dataset", "storage"))


def writes(step: dict):
    yield step.get("storage")
