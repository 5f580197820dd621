"""`GET /`: the home page a newcomer opens first. What Arbor is, the way into the designer (the first-run page
while nobody has an account, else sign-in; a signed-in user's bots), the demo pages of the example bots and
the API documentation.

It lives in the designer because it links the designer and knows who is signed in; the runtime knows
nothing of either. The page is public, so it lists no bot that anybody made (see `example_bots`).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from runtime.channels.directline.cors import normalize_origin, origin_allowed, origins_in
from runtime.extensions import db
from runtime.store.accounts import has_users
from runtime.store.examples import example_ids
from runtime.store.models import Bot

bp = Blueprint("home", __name__)


def example_bots() -> list[Bot]:
    """The bots shown to every visitor: the example bots `python app.py` loaded, whose demo pages work here.

    The page is public and a list of bots tells names and ids that people chose for their own sites (the
    designer itself hides from an editor the bots of others). So a bot is listed only when all of these hold:
    its id is one of the examples shipped with Arbor (examples/*.json); no designer user made it (a person's
    bot that happens to take such an id stays private); it is published; and it lets pages of this server
    open chats (its allowed origins), as `python app.py` sets for the examples it imports, so that its demo
    page works. Anything else, however public its own chat, is for its makers to link from their site.
    """
    ids = example_ids(Path(current_app.root_path) / "examples")
    if not ids:
        return []
    found = db.session.scalars(select(Bot).where(Bot.id.in_(sorted(ids)), Bot.created_by.is_(None),
                                                 Bot.published_version.is_not(None)).order_by(Bot.name, Bot.id))
    origin = normalize_origin(request.host_url)
    return [bot for bot in found if origin_allowed(origins_in(bot.settings), origin)]


@bp.get("/")
def index() -> str:
    signed_in = current_user.is_authenticated
    return render_template("index.html", examples=example_bots(), signed_in=signed_in,
                           agent=signed_in and current_user.is_agent, first_run=not signed_in and not has_users())
