"""A bot's users page: who talked to the bot (id, last message, channels), searchable, with each user's
trigger-API address ready to copy, and the integrations they signed in to, each with a button that signs them
out (their token is deleted; never shown). A bot may have a million users: a page reads one screenful, by user
id after the last one shown (keyset paging on the primary key), never the whole table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import load_only

from designer import bp
from designer.bots import get_bot_or_404
from runtime.extensions import db
from runtime.management.trigger import address_of
from runtime.store import user_tokens
from runtime.store.models import BotUser, Conversation

PAGE_SIZE = 50  # DESIGNER_USERS_PAGE overrides it


@dataclass
class UserRow:
    user_id: str
    last_message_at: datetime | None
    addresses: list[tuple[str, str]] = field(default_factory=list)  # (channel, address), newest first
    signed_in: list[str] = field(default_factory=list)  # the integrations the user signed in to (names only)


def users_page(bot_id: str, query: str, after: str, size: int = PAGE_SIZE) -> tuple[list[UserRow], str | None]:
    """One page of the bot's users with an id after `after` (containing `query`), and where the next starts."""
    found = select(BotUser.user_id, BotUser.last_message_at).where(BotUser.bot_id == bot_id, BotUser.user_id > after)
    if query:
        like = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found = found.where(db.func.lower(BotUser.user_id).like(like, escape="\\"))
    rows = [UserRow(user_id, when) for user_id, when in db.session.execute(
        found.order_by(BotUser.user_id).limit(size + 1))]
    more = len(rows) > size
    rows = rows[:size]
    _add_addresses(bot_id, {row.user_id: row for row in rows})
    for user_id, names in user_tokens.signed_in(bot_id, [row.user_id for row in rows]).items():
        next(row for row in rows if row.user_id == user_id).signed_in = names
    return rows, rows[-1].user_id if more else None


def _add_addresses(bot_id: str, by_user: dict[str, UserRow]) -> None:
    """Each user's address on each channel: that of their latest conversation there."""
    if not by_user:
        return
    conversations = db.session.scalars(select(Conversation).options(load_only(
        Conversation.id, Conversation.bot_id, Conversation.user_id, Conversation.channel, Conversation.updated_at,
        raiseload=True)).where(Conversation.bot_id == bot_id, Conversation.user_id.in_(by_user))
        .order_by(Conversation.updated_at.desc()))
    for conversation in conversations:
        row = by_user[conversation.user_id]
        if conversation.channel not in dict(row.addresses):
            row.addresses.append((conversation.channel, address_of(conversation)))


@bp.get("/bots/<bot_id>/users")
def bot_users(bot_id: str):
    bot = get_bot_or_404(bot_id)
    query, after = request.args.get("q", "").strip()[:255], request.args.get("after", "")[:255]
    rows, next_after = users_page(bot_id, query, after, current_app.config.get("DESIGNER_USERS_PAGE", PAGE_SIZE))
    template = "designer/partials/_user_rows.html" if request.htmx else "designer/bot_users.html"
    return render_template(template, bot=bot, rows=rows, query=query, after=after, next_after=next_after,
                           base=request.host_url.rstrip("/") + f"/b/{bot_id}/api/management/trigger/")


@bp.post("/bots/<bot_id>/users/sign-out")
def bot_user_sign_out(bot_id: str):
    """Revoke one user's sign-in to one integration: the bot can no longer act for them there."""
    get_bot_or_404(bot_id)
    user_id, integration = request.form.get("user", ""), request.form.get("integration", "")
    user_tokens.forget(bot_id, user_id, integration)
    return redirect(url_for("designer.bot_users", bot_id=bot_id, q=request.form.get("q") or None, signed_out=1))
