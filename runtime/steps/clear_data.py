"""clear-data: keep a snapshot of the user's data, then forget it.

The snapshot travels as a `user-data.snapshot` effect (the engine does no I/O); the store's subscriber
writes it to the snapshot table (the `userDataSnapshot` export) right after the turn commits.
"""

from __future__ import annotations

from . import schema
from .base import Context, Next, Outcome

TYPE = "clear-data"
TITLE = "Clear the user's data"
DESCRIPTION = "Save a snapshot of everything the bot knows about the user, then forget it."
ABBREVIATION = "Clr"  # the badge on its node in the tree
# The form's labels (templates/designer/steps/clear-data.html shows them; problems name fields by them).
LABELS = {
    "keep": "Keep these storages",
}
SCHEMA = schema.step(TYPE, {
    "keep": {"type": "array", "items": schema.NAME, "maxItems": 100,
             "description": "Storages that are not cleared."},
})


def run(step: dict, ctx: Context) -> Outcome:
    ctx.effect({"type": "user-data.snapshot", "step": step["id"], "data": dict(ctx.data)})
    kept = {name: ctx.data[name] for name in step.get("keep", ()) if name in ctx.data}
    ctx.data.clear()
    ctx.data.update(kept)
    return Next()
