"""`GET /b/<bot>/demo`: a sample shop page that embeds the bot's webchat with one script tag.

It is what a newcomer opens first: the widget as a visitor meets it, a button for each page event the bot
reacts to (`page_events`: its triggers and the events its wait steps wait for), a log of the events the
bot sends back, and a form that hands the bot the visitor's name. The page says so when the bot does not
yet let pages of this server open chats (its allowed origins), and where to allow it (the designer's Share
panel).

`GET /b/<bot>/share/<token>` is the same page for anyone with the bot's share link (`share_link`): its widget
opens chats by the link's token, whatever websites the bot allows. Either page talks to the live version and
says so; the designer's "Try it" talks to the draft and keeps its conversation apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request

from runtime.botdoc import translations, walk
from runtime.channels import share_link
from runtime.channels.directline.cors import allowed_origins, normalize_origin, origin_allowed
from runtime.store.bots import BotNotFound, get_bot, get_version_doc
from runtime.store.models import Bot

bp = Blueprint("demo", __name__)

# What the page sends with the events of the shipped examples. A bot document says what the bot does with an
# event's value (a trigger keeps it in a storage, a step reads `event.value.total`) but not what a value
# looks like, so these few come from here; any other event is sent without a value.
SAMPLE_VALUES: dict[str, dict[str, object]] = {
    "support": {"order-help": "AB1234", "checkout-done": {"total": 59.9}},
}


@dataclass(frozen=True)
class PageEvent:
    """A button of the demo page: the event it sends, its label, the value it sends (JSON text or None),
    and what the bot does with it."""

    name: str
    label: str
    value: str | None
    does: str


def page_events(doc: dict, bot_id: str) -> list[PageEvent]:
    """The page events `doc` reacts to, in document order: its triggers (which start dialogs), then the
    events its wait steps wait for; each once, labelled with its name in words."""
    does: dict[str, list[str]] = {}
    for trigger in doc.get("triggers", []):
        does.setdefault(trigger["event"], []).append("starts a dialog")
    for _, step, _ in walk.steps(doc):
        if step.get("type") == "wait":
            for name in step.get("events", []):
                if "ends a wait" not in does.setdefault(name, []):
                    does[name].append("ends a wait")
    samples = SAMPLE_VALUES.get(bot_id, {})
    return [PageEvent(name, humanize(name), json.dumps(samples[name]) if name in samples else None,
                      " or ".join(dict.fromkeys(what))) for name, what in does.items()]


def humanize(name: str) -> str:
    """An event name in words: `order-help` -> "Order help", `checkoutDone` -> "Checkout done" (`SMS-sent`
    keeps its capitals)."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    words = [w if w.isupper() and len(w) > 1 else w.lower() for w in re.split(r"[\s_.:/-]+", words) if w]
    text = " ".join(words) or name
    return text[:1].upper() + text[1:]


@bp.get("/b/<bot>/demo")
def demo(bot: str) -> str:
    """The demo page of a bot; 404 for a bot that does not exist."""
    try:
        found = get_bot(bot)
    except BotNotFound as e:
        abort(404, str(e))
    return _page(found)


@bp.get("/b/<bot>/share/<token>")
def share(bot: str, token: str) -> str:
    """The bot's share page; 404, saying why, for a link that was turned off or replaced (or never was)."""
    if not share_link.matches(bot, token):
        abort(404, "This share link does not work any more: ask whoever gave it to you for a new one.")
    return _page(get_bot(bot), share=token)


def _page(found: Bot, share: str | None = None) -> str:
    """The page for `found`; with `share`, its widget opens chats by that share token."""
    origin = normalize_origin(request.host_url)
    # What visitors can chat with is the published version; an unpublished draft shows nothing of itself.
    doc = get_version_doc(found.id) if found.published_version else {}
    events = page_events(doc, found.id) if doc else []
    # The page may set the widget's locale (?locale=cs), as a multilingual site sets it to its own language.
    languages = translations.languages(doc) if doc.get("languages") else []
    locale = request.args.get("locale", "")
    locale = locale if re.fullmatch(translations.LANGUAGE_PATTERN, locale) and len(locale) <= 35 else None
    return render_template("webchat/demo.html", bot=found, origin=origin, events=events, locale=locale,
                           languages=[(lang, translations.language_name(lang, in_language=lang)) for lang in languages],
                           allowed=share is not None or origin_allowed(allowed_origins(found.id), origin), share=share)
