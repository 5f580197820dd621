"""Bot secrets: the passwords, tokens and keys a bot's integrations use, by name (DESIGN §3 `secrets`).

Kept apart from the bot document, encrypted with Fernet under a key derived from SECRET_KEY for this
purpose alone (`runtime.keys.fernet`, as the Direct Line secrets are). Once set,
a value is never shown again: pages and exports get names only (`names`); only the integration runtime
reads values (`values`), and the integration log redacts them.

The API: `set_secret(bot, name, value)` (set or replace), `delete_secret(bot, name)`, `names(bot)`,
`values(bot, names)`.

Every secret is bound to the address it was entered for (`bound_to`): the integration's own address when it
is entered in the integration's form, the address its setter names on the Developers page or the command line
(`--for`). Read for an integration whose address is another one, it counts as unset (`values(..., home=)`),
so an editor who points the integration elsewhere must enter it again: the credential never follows the new
address. A secret bound to nothing (one stored before addresses were recorded) is refused to every
integration until it is entered again with its address.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.keys import fernet
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
    WHY = {"unset": "is not set", "elsewhere": "was entered for another address; enter it again for this one",
           "unbound": "is bound to no address; enter it again with the address it is for"}

    def __init__(self, bot_id: str, name: str, why: str = "unset"):
        super().__init__(f"The bot secret '{name}' {self.WHY[why]} for bot '{bot_id}': in the integration's form, "
                         f"on the bot's Developers page, or with `flask --app app bots secret {bot_id} {name} "
                         f"--for https://...`.")
        self.bot_id, self.name = bot_id, name


def destination(url: str | None) -> str | None:
    """A base URL as secrets are bound to it (scheme and host case-blind, no trailing slash); None for none."""
    if not url:
        return None
    scheme, _, rest = str(url).strip().partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")


ADDRESS = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


def set_secret(bot_id: str, name: str, value: str, *, bound_to: str) -> None:
    """Set or replace a secret, bound to the address `bound_to` (http or https) that alone may receive it.
    ValueError for a bad name, value or address; BotNotFound for an unknown bot."""
    if not NAME.match(name):
        raise ValueError("A secret's name is 1 to 64 letters, digits, _ . or -.")
    if not value or len(value) > MAX_VALUE:
        raise ValueError(f"A secret's value must not be empty nor longer than {MAX_VALUE:,} characters.")
    if not bound_to or len(bound_to) > 2000 or not ADDRESS.match(bound_to.strip()):
        raise ValueError("Say which address the secret is for, such as https://api.example.com: "
                         "only that address will receive it.")

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


def addresses(bot_id: str) -> dict[str, str | None]:
    """Each of a bot's secrets by name with the address it is bound to (None: bound to none)."""
    return {row.name: row.bound_to for row in db.session.execute(select(BotSecret.name, BotSecret.bound_to)
                                                                 .where(BotSecret.bot_id == bot_id))}


def listed(bot_id: str) -> list[tuple[str, datetime, str | None]]:
    """(name, when it was last set, the address it is for) of each of a bot's secrets, for the settings page."""
    rows = db.session.execute(select(BotSecret.name, BotSecret.updated_at, BotSecret.bound_to)
                              .where(BotSecret.bot_id == bot_id).order_by(BotSecret.name))
    return [(row.name, row.updated_at, row.bound_to) for row in rows]


def values(bot_id: str, wanted: list[str] | set[str], *,
           home: Callable[[dict[str, str]], str | None] | None = None) -> dict[str, str]:
    """The values of the named secrets, for the integration runtime only; SecretMissing for the first unset one.

    A value sealed under another SECRET_KEY counts as unset: it must be set again. Given `home` (the address the
    values will be sent to, from the values themselves: a webhook's address may be one of them), a value bound
    to another address, or to none, counts as unset too. Without it the caller only checks what is stored.
    """
    if not wanted:
        return {}
    rows = {row.name: row for row in db.session.execute(select(BotSecret.name, BotSecret.sealed, BotSecret.bound_to)
                                                        .where(BotSecret.bot_id == bot_id,
                                                               BotSecret.name.in_(list(wanted))))}
    found = {}
    for name in sorted(wanted):
        try:
            found[name] = fernet(PURPOSE).decrypt(rows[name].sealed.encode()).decode()
        except (KeyError, InvalidToken):
            raise SecretMissing(bot_id, name) from None
    if home is not None:
        address = destination(home(found))
        for name in sorted(wanted):
            if rows[name].bound_to != address:
                raise SecretMissing(bot_id, name, "elsewhere" if rows[name].bound_to else "unbound")
    return found

