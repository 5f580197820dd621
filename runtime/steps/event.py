"""event: send a named event to the web page that embeds the chat."""

from __future__ import annotations

from typing import Any

from . import schema
from .base import Context, Next, Outcome

TYPE = "event"
TITLE = "Send an event to the page"
DESCRIPTION = "Tell the web page something happened (close the chat, open a page, update a cart)."
ABBREVIATION = "Evt"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"name": "close-chat"}
# The form's labels (templates/designer/steps/event.html shows them; problems name fields by them).
LABELS = {
    "name": "Event name",
}
SCHEMA = schema.step(TYPE, {
    "name": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,100}$"},
    "value": {"description": "Any JSON; texts in it may use {{ storage }}."},
}, required=("name",))


def run(step: dict, ctx: Context) -> Outcome:
    ctx.emit({"type": "event", "name": step["name"], "value": _render(step.get("value"), ctx)})
    return Next()


def _render(value: Any, ctx: Context) -> Any:
    """Render every text inside a JSON value, keeping its shape."""
    if isinstance(value, str):
        return ctx.render(value)
    if isinstance(value, list):
        return [_render(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _render(v, ctx) for k, v in value.items()}
    return value


def templates(step: dict):
    def walk(value: Any, pointer: str):
        if isinstance(value, str):
            yield pointer, value
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, f"{pointer}/{i}")
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, f"{pointer}/{k.replace('~', '~0').replace('/', '~1')}")
    yield from walk(step.get("value"), "/value")


def summary(step: dict) -> str:
    return f"Send “{step.get('name', '?')}” to the page"
