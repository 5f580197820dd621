"""message: the bot says something, with an optional image and buttons."""

from __future__ import annotations

from . import schema
from ._buttons import actions, button_templates, button_texts, suggested
from .base import Context, Next, Outcome

TYPE = "message"
TITLE = "Message"
DESCRIPTION = "The bot says something, with an optional image and buttons."
SCHEMA = schema.step(TYPE, {
    "text": schema.TEMPLATE,
    "format": {"enum": ["markdown", "plain"], "default": "markdown"},
    "image": schema.URL,
    "buttons": schema.BUTTONS,
}, required=("text",))


def run(step: dict, ctx: Context) -> Outcome:
    activity: dict = {"type": "message", "text": ctx.render(step["text"]),
                      "textFormat": step.get("format", "markdown")}
    if step.get("image"):
        activity["attachments"] = [{"contentType": "image/*", "contentUrl": ctx.render(step["image"])}]
    if step.get("buttons"):
        activity["suggestedActions"] = suggested(actions(step["buttons"], ctx.render), ctx.user.get("id"))
    ctx.emit(activity)
    return Next()


def templates(step: dict):
    yield "/text", step.get("text")
    if step.get("image"):
        yield "/image", step["image"]
    yield from button_templates(step.get("buttons", []), "/buttons")


def texts(step: dict):
    yield "/text", step.get("text")
    yield from button_texts(step.get("buttons", []), "/buttons")
