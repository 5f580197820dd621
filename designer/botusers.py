"""A bot's users page: who talked to the bot (id, last message, channels), searchable, with each user's
trigger-API address ready to copy. A bot may have a million users: a page reads one screenful, by user id
after the last one shown (keyset paging on the primary key), never the whole table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import load_only

from designer import bp
from designer.bots import get_bot_or_404
from runtime.extensions import db
from runtime.management.trigger import address_of
from runtime.store.models import BotUser, Conversation

PAGE_SIZE = 50  # DESIGNER_USERS_PAGE overrides it


@dataclass
class UserRow:
    user_id: str
    last_message_at: datetime | None
    addresses: list[tuple[str, str]] = field(default_factory=list)  # (channel, address), newest first


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
