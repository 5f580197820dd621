"""Users' sign-ins: the OAuth 2.0 tokens a user granted the bot for one integration (`oauth2-authorization-code`).

Part of the bot's secret store, per user: each token (access and refresh token, expiry, scope) is sealed with
Fernet under a key derived from SECRET_KEY for this purpose alone, and bound to the integration's addresses it
was granted for (its token URL and its base URL): read for an integration pointed elsewhere, it counts as no
sign-in, so a user's token never follows an edited address. Only the integration runtime reads a token
(`read`); pages see the integration names (`signed_in`), never a value. Deleting a bot deletes its users'
tokens (the foreign key cascades).
"""

from __future__ import annotations

import json
from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.keys import fernet
from runtime.store.models import UTCDateTime, utcnow
from runtime.store.retry import in_transaction

PURPOSE = "user-sign-ins"


class UserToken(db.Model):
    __tablename__ = "user_tokens"

    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    integration: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)  # Fernet token of the token's JSON
    bound_to: Mapped[str] = mapped_column(String(4000))  # the addresses it was granted for (`binding`)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def save(bot_id: str, user_id: str, integration: str, token: dict, *, bound_to: str) -> None:
    """Keep (or replace) the user's token for `integration`."""
    sealed = fernet(PURPOSE).encrypt(json.dumps(token).encode()).decode()

    def write() -> None:
        row = db.session.get(UserToken, (bot_id, user_id, integration)) or UserToken(
            bot_id=bot_id, user_id=user_id, integration=integration)
        row.sealed, row.bound_to, row.updated_at = sealed, bound_to, utcnow()
        db.session.add(row)

    in_transaction(write)


def read(bot_id: str, user_id: str, integration: str, *, bound_to: str) -> dict | None:
    """The user's token for `integration`, or None: never signed in, signed out, sealed under another
    SECRET_KEY, or granted for other addresses than `bound_to`."""
    row = db.session.execute(select(UserToken.sealed, UserToken.bound_to).where(
        UserToken.bot_id == bot_id, UserToken.user_id == user_id, UserToken.integration == integration)).first()
    db.session.commit()  # read in a transaction of its own: a refresh may take a while before the next write
    if row is None or row.bound_to != bound_to:
        return None
    try:
        return json.loads(fernet(PURPOSE).decrypt(row.sealed.encode()))
    except InvalidToken:
        return None


def forget(bot_id: str, user_id: str, integration: str | None = None) -> int:
    """Sign the user out of `integration` (of every one when None); how many sign-ins were forgotten."""
    def drop() -> int:
        query = delete(UserToken).where(UserToken.bot_id == bot_id, UserToken.user_id == user_id)
        if integration is not None:
            query = query.where(UserToken.integration == integration)
        return db.session.execute(query).rowcount

    return in_transaction(drop)


def signed_in(bot_id: str, user_ids: list[str]) -> dict[str, list[str]]:
    """The integrations each of these users is signed in to (names only), for the Users page."""
    found: dict[str, list[str]] = {}
    if user_ids:
        for user_id, integration in db.session.execute(
                select(UserToken.user_id, UserToken.integration).where(
                    UserToken.bot_id == bot_id, UserToken.user_id.in_(user_ids)).order_by(UserToken.integration)):
            found.setdefault(user_id, []).append(integration)
    return found
