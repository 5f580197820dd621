"""A bot's secrets (API tokens, passwords its integrations use), encrypted apart from the document.

Write-only from the outside: the designer sets or replaces a secret and lists the names; only the
runtime reads a value back (`reveal`), to hand it to an integration. Never exported or logged.
Encrypted with Fernet under a key derived from SECRET_KEY, as the Direct Line secrets are.
"""

from __future__ import annotations

import re
from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from runtime.channels.directline.keys import fernet
from runtime.extensions import db
from runtime.store.models import UTCDateTime, utcnow

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PURPOSE = "bot-secret"


class BotSecret(db.Model):
    __tablename__ = "bot_secrets"

    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def set_secret(bot_id: str, name: str, value: str) -> None:
    """Set or replace a secret; ValueError when the name or value is not usable."""
    if not NAME.match(name or ""):
        raise ValueError("A secret's name has 1 to 64 letters, digits, '.', '_' or '-', like crm-token.")
    if not value:
        raise ValueError("Enter the secret's value.")
    row = db.session.get(BotSecret, (bot_id, name)) or BotSecret(bot_id=bot_id, name=name)
    row.sealed = fernet(PURPOSE).encrypt(value.encode()).decode()
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.commit()


def delete_secret(bot_id: str, name: str) -> None:
    db.session.execute(delete(BotSecret).where(BotSecret.bot_id == bot_id, BotSecret.name == name))
    db.session.commit()


def secret_names(bot_id: str) -> list[tuple[str, datetime]]:
    """(name, when it was last set) of every secret of the bot; never the values."""
    rows = db.session.execute(select(BotSecret.name, BotSecret.updated_at).where(BotSecret.bot_id == bot_id)
                              .order_by(BotSecret.name))
    return [(row.name, row.updated_at) for row in rows]


def reveal(bot_id: str, name: str) -> str | None:
    """The value of a secret for the runtime, or None if it is not set (or SECRET_KEY changed since)."""
    sealed = db.session.scalar(select(BotSecret.sealed).where(BotSecret.bot_id == bot_id, BotSecret.name == name))
    if sealed is None:
        return None
    try:
        return fernet(PURPOSE).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
