"""Each bot's Direct Line secret: the credential a site's backend uses to open conversations with it.

Stored encrypted (Fernet, key derived from SECRET_KEY), not only hashed, because operators ask for
it again (`flask directline secret BOT` prints the same secret each time, for a second site or a
redeploy) and an only-hashed secret would force a regeneration that breaks every site using it.
A SHA-256 digest sits beside it to find the bot of a Bearer secret with one indexed lookup: the
secret is 256 random bits, so a fast unkeyed hash is safe there, and it keeps working even if
SECRET_KEY changes (then only printing fails, and the command says to regenerate).
The secret is never logged and no export includes this table.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.keys import fernet
from runtime.store.bots import get_bot
from runtime.store.models import UTCDateTime, utcnow
from runtime.store.retry import in_transaction


class DirectLineSecret(db.Model):
    __tablename__ = "directline_secrets"

    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex: finds the bot of a secret
    sealed: Mapped[str] = mapped_column(Text)  # Fernet token of the secret
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SecretUnreadable(Exception):
    def __init__(self, bot_id: str):
        super().__init__(f"The Direct Line secret of bot '{bot_id}' was encrypted with another SECRET_KEY; "
                         f"it still works but cannot be shown. Replace it with --regenerate.")


def reveal(bot_id: str, *, regenerate: bool = False) -> tuple[str, bool]:
    """The bot's secret and whether it was made now (none before, or `regenerate`).

    Regenerating replaces the secret at once: the old one stops opening anything; tokens already
    issued with it stay valid until they expire. Raises BotNotFound, SecretUnreadable.
    """

    def attempt() -> tuple[str, bool]:
        get_bot(bot_id)
        row = db.session.get(DirectLineSecret, bot_id, populate_existing=True)
        if row is not None and not regenerate:
            try:
                return _fernet().decrypt(row.sealed.encode()).decode(), False
            except InvalidToken:
                raise SecretUnreadable(bot_id) from None
        secret = secrets.token_urlsafe(32)  # no "." in it, unlike a JWT token
        if row is None:
            row = DirectLineSecret(bot_id=bot_id)
            db.session.add(row)
        row.digest, row.sealed, row.created_at = _digest(secret), _fernet().encrypt(secret.encode()).decode(), utcnow()
        return secret, True

    return in_transaction(attempt)


def bot_of(secret: str) -> str | None:
    """The id of the bot this secret belongs to, or None."""
    return db.session.scalar(select(DirectLineSecret.bot_id).where(DirectLineSecret.digest == _digest(secret)))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _fernet() -> Fernet:
    return fernet("directline-secret")
