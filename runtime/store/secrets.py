"""Bot secrets: the passwords, tokens and keys a bot's integrations use, by name (DESIGN §3 `secrets`).

Kept apart from the bot document, encrypted with Fernet under a key derived from SECRET_KEY for this
purpose alone (`directline.keys.fernet`, as the Direct Line secrets are). Once set,
a value is never shown again: pages and exports get names only (`names`); only the integration runtime
reads values (`values`), and the integration log redacts them.

The API: `set_secret(bot, name, value)` (set or replace), `delete_secret(bot, name)`, `names(bot)`,
`values(bot, names)`.

A secret entered for an integration is bound to the base URL it was entered for (`bound_to`): read for an
integration whose base URL is another one, it counts as unset (`values(..., destination=)`), so an editor who
points the integration elsewhere must enter it again; the credential never follows the new address.
"""

from __future__ import annotations

import re
from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from runtime.channels.directline.keys import fernet
from runtime.extensions import db
from runtime.store.bots import get_bot
from runtime.store.models import UTCDateTime, utcnow
from runtime.store.retry import in_transaction

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_VALUE = 16 * 1024
PURPOSE = "bot-secrets"


class BotSecret(db.Model):
    __tablename__ = "bot_secrets"

    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)  # Fernet token of the value
    bound_to: Mapped[str | None] = mapped_column(String(2000))  # the base URL it was entered for (destination())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SecretMissing(LookupError):
    def __init__(self, bot_id: str, name: str, elsewhere: bool = False):
        why = "was entered for another address; enter it again for this one" if elsewhere else "is not set"
        super().__init__(f"The bot secret '{name}' {why} for bot '{bot_id}'; set it with "
                         f"`flask --app app bots secret {bot_id} {name}` or in the bot's integrations.")
        self.bot_id, self.name = bot_id, name


def destination(url: str | None) -> str | None:
    """A base URL as secrets are bound to it (scheme and host case-blind, no trailing slash); None for none."""
    if not url:
        return None
    scheme, _, rest = str(url).strip().partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")


def set_secret(bot_id: str, name: str, value: str, *, bound_to: str | None = None) -> None:
    """Set or replace a secret, bound to the base URL `bound_to` when given (an integration's). ValueError for a
    bad name or value; BotNotFound for an unknown bot."""
    if not NAME.match(name):
        raise ValueError("A secret's name is 1 to 64 letters, digits, _ . or -.")
    if not value or len(value) > MAX_VALUE:
        raise ValueError(f"A secret's value must not be empty nor longer than {MAX_VALUE:,} characters.")

    def save() -> None:
        get_bot(bot_id)
        row = db.session.get(BotSecret, (bot_id, name)) or BotSecret(bot_id=bot_id, name=name)
        row.sealed = fernet(PURPOSE).encrypt(value.encode()).decode()
        row.bound_to = destination(bound_to)
        row.updated_at = utcnow()
        db.session.add(row)

    in_transaction(save)


def delete_secret(bot_id: str, name: str) -> bool:
    """Forget a secret; whether there was one."""
    def drop() -> bool:
        return db.session.execute(delete(BotSecret).where(BotSecret.bot_id == bot_id,
                                                          BotSecret.name == name)).rowcount > 0

    return in_transaction(drop)


def names(bot_id: str) -> list[str]:
    """The names of a bot's secrets, sorted: all a page or an export may show of them."""
    return list(db.session.scalars(select(BotSecret.name).where(BotSecret.bot_id == bot_id).order_by(BotSecret.name)))


def listed(bot_id: str) -> list[tuple[str, datetime]]:
    """(name, when it was last set) of each of a bot's secrets, for the designer's settings page."""
    rows = db.session.execute(select(BotSecret.name, BotSecret.updated_at).where(BotSecret.bot_id == bot_id)
                              .order_by(BotSecret.name))
    return [(row.name, row.updated_at) for row in rows]


ANYWHERE = object()  # `values` for a caller that names no destination (a check of what is stored)


def values(bot_id: str, wanted: list[str] | set[str], *, destination_url: str | None | object = ANYWHERE
           ) -> dict[str, str]:
    """The values of the named secrets, for the integration runtime only; SecretMissing for the first unset one.

    A value sealed under another SECRET_KEY counts as unset: it must be set again. So does a value bound to
    another base URL than `destination_url` (the calling integration's).
    """
    if not wanted:
        return {}
    rows = {row.name: row for row in db.session.execute(select(BotSecret.name, BotSecret.sealed, BotSecret.bound_to)
                                                        .where(BotSecret.bot_id == bot_id,
                                                               BotSecret.name.in_(list(wanted))))}
    found = {}
    for name in sorted(wanted):
        row = rows.get(name)
        if row is not None and row.bound_to and destination_url is not ANYWHERE \
                and row.bound_to != destination(destination_url):
            raise SecretMissing(bot_id, name, elsewhere=True)
        try:
            found[name] = fernet(PURPOSE).decrypt(row.sealed.encode()).decode()
        except (AttributeError, InvalidToken):
            raise SecretMissing(bot_id, name) from None
    return found

