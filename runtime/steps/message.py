"""message: the bot says something, with an optional image and buttons."""

from __future__ import annotations

from . import schema
from ._buttons import actions, button_templates, button_texts, suggested
from ._words import blank, empty
from .base import Context, Next, Outcome

TYPE = "message"
TITLE = "Message"
DESCRIPTION = "The bot says something, with an optional image and buttons."
ABBREVIATION = "Msg"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"text": ""}
# The form's labels (templates/designer/steps/message.html shows them; problems name fields by them).
LABELS = {
    "text": "What the bot says",
    "image": "Picture (optional)",
    "format": "Text style",
}
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


def problems(step: dict, doc: dict, dialogs: dict):
    if blank(step.get("text")) and not step.get("image") and not step.get("buttons"):
        yield "/text", empty(LABELS["text"], "write what the bot says, or remove the step.")
