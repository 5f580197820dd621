"""carousel: a row of cards, listed in the step or made from a list storage, one per item."""

from __future__ import annotations

from . import schema
from ._buttons import actions, button_templates, button_texts
from ._matching import match
from .base import Context, Next, NotUnderstood, Outcome, Wait

TYPE = "carousel"
TITLE = "Carousel of cards"
DESCRIPTION = "Show cards with pictures and buttons, written here or made from a list (job offers, products)."
ABBREVIATION = "Card"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"text": "", "cards": [{"title": "Card"}]}
# The form's labels (templates/designer/steps/carousel.html shows them; problems name fields by them).
LABELS = {
    "text": "Text above the cards",
    "items": "Or make a card per item of a list (optional)",
    "empty": "When the list is empty, say",
    "storage": "Keep the picked button's value in (optional)",
}
MAX_CARDS = 20
CARD = {
    "type": "object", "required": ["title"], "additionalProperties": False,
    "properties": {"title": schema.TEMPLATE, "subtitle": schema.TEMPLATE, "text": schema.TEMPLATE,
                   "image": schema.URL, "buttons": schema.BUTTONS},
}
SCHEMA = schema.step(TYPE, {
    "text": schema.TEMPLATE,
    "cards": {"type": "array", "minItems": 1, "maxItems": MAX_CARDS, "items": CARD},
    "items": {**schema.EXPRESSION, "description": "A list storage (or expression); one card per item."},
    "card": {**CARD, "description": "The card made for each item; its texts may use {{ item.field }}."},
    "empty": {**schema.TEMPLATE, "description": "Said instead when the list is empty."},
    "storage": {**schema.NAME, "description": "Keep the value of the button the user picks here."},
})


def run(step: dict, ctx: Context) -> Outcome:
    cards = [_card(c, ctx.render) for c in step["cards"]] if step.get("cards") else _cards_from_items(step, ctx)
    if not cards:
        if step.get("empty"):
            ctx.emit({"type": "message", "text": ctx.render(step["empty"])})
        return Next()
    activity = {"type": "message", "attachmentLayout": "carousel", "attachments": cards}
    if step.get("text"):
        activity["text"] = ctx.render(step["text"])
    ctx.emit(activity)
    buttons = [[b["value"], b["title"]] for c in cards for b in c["content"].get("buttons", [])
               if b["type"] != "openUrl"]
    if step.get("storage") and buttons:
        return Wait({"buttons": buttons})
    return Next()


def resume(step: dict, ctx: Context, memo: dict) -> Outcome:
    buttons = memo.get("buttons", [])
    picked = match(ctx.input, [(value, title) for value, title in buttons])
    if picked is None:
        ctx.log({"kind": "nlp-miss", "query": ctx.input.text or str(ctx.input.value or "")})
        return NotUnderstood()
    ctx.data[step["storage"]] = buttons[picked][0]
    return Next()


def _cards_from_items(step: dict, ctx: Context) -> list[dict]:
    items = ctx.evaluate(step["items"])
    if not isinstance(items, list):
        return []
    return [_card(step["card"], lambda t, item=item: ctx.render(t, item=item)) for item in items[:MAX_CARDS]]


def _card(card: dict, render) -> dict:
    """A hero card, as Bot Framework clients render it."""
    content: dict = {"title": render(card["title"])}
    for key in ("subtitle", "text"):
        if card.get(key):
            content[key] = render(card[key])
    if card.get("image"):
        content["images"] = [{"url": render(card["image"])}]
    if card.get("buttons"):
        content["buttons"] = actions(card["buttons"], render, kind="postBack")
    return {"contentType": "application/vnd.microsoft.card.hero", "content": content}


def templates(step: dict):
    for key in ("text", "empty"):
        if step.get(key):
            yield f"/{key}", step[key]
    for i, card in enumerate(step.get("cards", [])):
        yield from _card_templates(card, f"/cards/{i}")
    if step.get("card"):
        yield from _card_templates(step["card"], "/card")


def _card_templates(card: dict, prefix: str):
    for key in ("title", "subtitle", "text", "image"):
        if card.get(key):
            yield f"{prefix}/{key}", card[key]
    yield from button_templates(card.get("buttons", []), f"{prefix}/buttons")


def texts(step: dict):
    for key in ("text", "empty"):
        yield f"/{key}", step.get(key)
    cards = [(f"/cards/{i}", card) for i, card in enumerate(step.get("cards", []))]
    for prefix, card in cards + ([("/card", step["card"])] if step.get("card") else []):
        for key in ("title", "subtitle", "text"):
            yield f"{prefix}/{key}", card.get(key)
        yield from button_texts(card.get("buttons", []), f"{prefix}/buttons")


def expressions(step: dict):
    if step.get("items"):
        yield "/items", step["items"]


def writes(step: dict):
    if step.get("storage"):
        yield step["storage"]


def problems(step: dict, doc: dict, dialogs: dict):
    if bool(step.get("cards")) == bool(step.get("items")):
        yield "", (f"Give either cards written here or “{LABELS['items']}”, not both and not neither.")
    if step.get("items") and not step.get("card"):
        yield "/card", "Say how each item of the list becomes a card (the card's title, text and picture)."
