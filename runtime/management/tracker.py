"""The URL tracker: link buttons go through `/b/<bot>/r/<id>`, which logs the click and redirects.

When a turn's activities are stored, each http(s) `openUrl` action (message buttons, card buttons) is
rewritten to the redirect. The `<id>` is the user and the address, signed with a key derived from
SECRET_KEY and salted with the bot's id: the redirect goes only to an address the bot itself sent, to
the user it sent it to, so it is no open redirect (a forged or altered id is a 404), and it needs no
table of links. The redirect's absolute address comes from ARBOR_BASE_URL, else from the request the turn
runs in; a turn with neither (a timer's job) keeps its links as they are, untracked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, has_request_context, redirect, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from runtime.extensions import db
from runtime.keys import derived_key
from runtime.management.models import UrlClick

bp = Blueprint("url_tracker", __name__, url_prefix="/b/<bot>/r")


SIGN_IN = "application/vnd.microsoft.card.signin"


def tracked(turn, activity: dict) -> dict:
    """In-turn handler of `OUTGOING`: the activity with its link buttons routed through the redirect (the same
    dict if it has none)."""
    if "suggestedActions" not in activity and "attachments" not in activity:
        return activity
    bot_id, user_id = turn.conversation.bot_id, turn.conversation.user_id
    base = current_app.config.get("ARBOR_BASE_URL") or (request.host_url if has_request_context() else None)
    if not base:
        return activity
    signer = _signer(bot_id)
    prefix = f"{base.rstrip('/')}/b/{bot_id}/r/"

    def rewrite(actions: list) -> list:
        return [{**a, "value": prefix + signer.dumps([user_id, a["value"]])}
                if a.get("type") == "openUrl" and _web(a.get("value")) else a for a in actions]

    activity = dict(activity)  # a sign-in card's button is left alone: its single-use state stays out of the log
    if activity.get("suggestedActions", {}).get("actions"):
        activity["suggestedActions"] = {**activity["suggestedActions"],
                                        "actions": rewrite(activity["suggestedActions"]["actions"])}
    if activity.get("attachments"):
        activity["attachments"] = [
            {**a, "content": {**a["content"], "buttons": rewrite(a["content"]["buttons"])}}
            if isinstance(a.get("content"), dict) and a["content"].get("buttons") and a.get("contentType") != SIGN_IN
            else a
            for a in activity["attachments"]]
    return activity


@bp.get("/<link>")
def follow(bot: str, link: str) -> Response:
    """Log the click and redirect to the address the bot sent."""
    try:
        user_id, url = _signer(bot).loads(link)
    except (BadSignature, ValueError, TypeError):
        raise NotFound(f"This is not a link bot '{bot}' sent.") from None
    if not _web(url):
        raise NotFound(f"This is not a link bot '{bot}' sent.")
    db.session.add(UrlClick(bot_id=bot, user_id=str(user_id)[:255], url=url,
                            domain=(urlsplit(url).hostname or "")[:255]))
    db.session.commit()
    return redirect(url, code=302)


def _web(url: object) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://"))


def _signer(bot_id: str) -> URLSafeSerializer:
    return URLSafeSerializer(derived_key("url-tracker"), salt=f"bot:{bot_id}")
