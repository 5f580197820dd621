"""clear-data: keep a snapshot of the user's data, then forget it.

The snapshot travels as a `user-data.snapshot` effect (the engine does no I/O); the store's subscriber
writes it to the snapshot table (the `userDataSnapshot` export) right after the turn commits.
With `signOut`, the user is also signed out of every integration they signed in to (`sign-in.forget`: their
tokens are deleted). It is an option of this step rather than a step of its own because forgetting the user is
what this step is for, and a sign-in is something the bot knows about them: one "forget me" step, one place.
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
    "signOut": "Also sign the user out of every integration",
}
SCHEMA = schema.step(TYPE, {
    "keep": {"type": "array", "items": schema.NAME, "maxItems": 100,
             "description": "Storages that are not cleared."},
    "signOut": {"type": "boolean", "default": False,
                "description": "Also delete the user's sign-ins (their tokens for integrations acting for them)."},
})


def run(step: dict, ctx: Context) -> Outcome:
    ctx.effect({"type": "user-data.snapshot", "step": step["id"], "data": dict(ctx.data)})
    if step.get("signOut"):
        ctx.effect({"type": "sign-in.forget", "step": step["id"]})
    kept = {name: ctx.data[name] for name in step.get("keep", ()) if name in ctx.data}
    ctx.data.clear()
    ctx.data.update(kept)
    return Next()
