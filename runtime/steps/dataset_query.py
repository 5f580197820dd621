"""dataset-query: look rows up in a dataset kept in the bot's database (by tags, near a place).

The lookup needs the database, so the step asks for a `dataset.query` effect and waits; the turn hands it to
its in-turn handler (`runtime.turns.effects`) and resumes the step with the rows, which it keeps in its storage:
a list of items (the row's fields with `key`, `tags`, `latitude`, `longitude`, `distanceKm`), ready for a
carousel's `items`. An empty list when nothing matched or the lookup failed (logged).
"""

from __future__ import annotations

from typing import Any

from . import schema
from .base import Context, Next, Outcome, Wait

TYPE = "dataset-query"
TITLE = "Look up a dataset"
DESCRIPTION = "Find rows in a dataset (branches, products) by tags or distance and keep them in a storage."
ABBREVIATION = "Data"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"dataset": "dataset", "storage": "rows"}
# The form's labels (templates/designer/steps/dataset-query.html shows them; problems name fields by them).
LABELS = {
    "dataset": "Dataset",
    "tags": "Only rows with these tags",
    "limit": "At most this many rows",
    "storage": "Keep the rows in",
}
ACCEPTS = ("result",)
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


def run(step: dict, ctx: Context) -> Outcome:
    near = None
    if step.get("near"):
        near = point(ctx.data.get(step["near"]["storage"]))
        if near is None:
            ctx.error(f"dataset-query: the storage '{step['near']['storage']}' holds no latitude and longitude; "
                      "no rows looked up.")
            ctx.data[step["storage"]] = []
            return Next()
    sort = step.get("sort", {})
    ctx.effect({"type": "dataset.query", "step": step["id"], "dataset": step["dataset"],
                "tags": step.get("tags", []), "near": near, "radiusKm": step.get("near", {}).get("radiusKm"),
                "sortBy": sort.get("by"), "field": sort.get("field"), "order": sort.get("order", "asc"),
                "limit": step.get("limit", 10)})
    return Wait()


def resume(step: dict, ctx: Context, memo: dict) -> Outcome:
    value = ctx.input.value
    if isinstance(value, dict) and value.get("error"):
        ctx.error(f"dataset-query: {value['error']}")
    ctx.data[step["storage"]] = value if isinstance(value, list) else []
    return Next()


def point(value: Any) -> list[float] | None:
    """[latitude, longitude] from {latitude, longitude} (or {lat, lon} / {lat, lng}), if valid."""
    if not isinstance(value, dict):
        return None
    lat = value.get("latitude", value.get("lat"))
    lon = value.get("longitude", value.get("lon", value.get("lng")))
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    return [lat, lon] if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def writes(step: dict):
    yield step.get("storage")


def summary(step: dict) -> str:
    return f"Look up {step.get('dataset', '?')} → {step.get('storage', '?')}"
