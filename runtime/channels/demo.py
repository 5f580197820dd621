"""`GET /b/<bot>/demo`: a sample shop page that embeds the bot's webchat with one script tag.

It is what a newcomer opens first: the widget as a visitor meets it, buttons that send the page
events a bot can react to (the `support` example's triggers and wait), a log of the events the bot
sends back, and a form that hands the bot the visitor's name. The page says so when the bot does not
yet let pages of this server open chats (its allowed origins), and how to allow it.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from runtime.channels.directline.cors import allowed_origins, normalize_origin, origin_allowed
from runtime.store.bots import BotNotFound, get_bot

bp = Blueprint("demo", __name__)


@bp.get("/b/<bot>/demo")
def demo(bot: str) -> str:
    """The demo page of a bot; 404 for a bot that does not exist."""
    try:
        found = get_bot(bot)
    except BotNotFound as e:
        abort(404, str(e))
    origin = normalize_origin(request.host_url)
    return render_template("webchat/demo.html", bot=found, origin=origin,
                           allowed=origin_allowed(allowed_origins(found.id), origin))
