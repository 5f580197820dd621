"""clear-data: keep a snapshot of the user's data, then forget it."""

from __future__ import annotations

from . import schema

TYPE = "clear-data"
TITLE = "Clear the user's data"
DESCRIPTION = "Save a snapshot of everything the bot knows about the user, then forget it."
AVAILABLE = False
SCHEMA = schema.step(TYPE, {
    "keep": {"type": "array", "items": schema.NAME, "maxItems": 100,
             "description": "Storages that are not cleared."},
})
