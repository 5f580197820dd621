"""Function keys: the secrets that open a bot's management API (`?code=KEY` or the `x-functions-key` header).

A key is 256 random bits shown once, when it is made; only its SHA-256 digest is stored. A slow password
hash (bcrypt, scrypt) defends guessable secrets against a stolen table; a 256-bit random key cannot be
guessed however fast the hash, so a fast one keeps every API call cheap and lets a presented key be found
with one indexed lookup of its digest (then compared in constant time all the same). A stolen table gives
no usable key. Revoked keys stay listed with the time they were revoked. The last use is recorded at
most once a minute per key, so busy integrations do not turn every call into a write.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import request
from sqlalchemy import or_, select, update
from werkzeug.exceptions import Unauthorized

from runtime.extensions import db
from runtime.management.models import FunctionKey
from runtime.store.bots import get_bot
from runtime.store.models import utcnow
from runtime.store.retry import in_transaction

HEADER = "x-functions-key"
LAST_USED_PRECISION = timedelta(minutes=1)


class KeyNameTaken(ValueError):
    def __init__(self, bot_id: str, name: str):
        super().__init__(f"Bot '{bot_id}' already has a key named '{name}'; revoke it or pick another name.")


def create_key(bot_id: str, name: str) -> tuple[FunctionKey, str]:
    """Make a key for the bot; returns its row and the key itself, which is never available again.

    Raises BotNotFound, KeyNameTaken (a key in use has that name).
    """
    name = name.strip()
    if not 0 < len(name) <= 100:
        raise ValueError("A key's name must be 1 to 100 characters.")

    def attempt() -> tuple[FunctionKey, str]:
        get_bot(bot_id)
        taken = db.session.scalar(select(FunctionKey.id).where(
            FunctionKey.bot_id == bot_id, FunctionKey.name == name, FunctionKey.revoked_at.is_(None)))
        if taken is not None:
            raise KeyNameTaken(bot_id, name)
        key = secrets.token_urlsafe(32)
        row = FunctionKey(bot_id=bot_id, name=name, digest=digest(key))
        db.session.add(row)
        return row, key

    return in_transaction(attempt)


def list_keys(bot_id: str) -> list[FunctionKey]:
    """The bot's keys, revoked ones included, oldest first. Raises BotNotFound."""
    get_bot(bot_id)
    return list(db.session.scalars(select(FunctionKey).where(FunctionKey.bot_id == bot_id)
                                   .order_by(FunctionKey.created_at, FunctionKey.id)))


def revoke_key(bot_id: str, which: str) -> list[FunctionKey]:
    """Revoke the bot's key in use with this name or id; it stops working at once. Returns what was revoked."""

    def attempt() -> list[FunctionKey]:
        get_bot(bot_id)
        match = FunctionKey.name == which
        if which.isdigit():
            match = or_(match, FunctionKey.id == int(which))
        rows = list(db.session.scalars(select(FunctionKey).where(
            FunctionKey.bot_id == bot_id, FunctionKey.revoked_at.is_(None), match)))
        for row in rows:
            row.revoked_at = utcnow()
        return rows

    return in_transaction(attempt)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def authenticate(bot_id: str, presented: str | None) -> FunctionKey | None:
    """The bot's key in use that `presented` is, or None (no key, a wrong or revoked one, another bot's)."""
    if not presented or len(presented) > 200:
        return None
    wanted = digest(presented)
    row = db.session.scalar(select(FunctionKey).where(FunctionKey.digest == wanted))
    if row is None or not hmac.compare_digest(row.digest, wanted):
        return None
    if row.bot_id != bot_id or row.revoked_at is not None:
        return None
    _note_use(row)
    return row


def _note_use(row: FunctionKey) -> None:
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_PRECISION:
        return
    table = FunctionKey.__table__
    db.session.execute(update(table).where(
        table.c.id == row.id, or_(table.c.last_used_at.is_(None), table.c.last_used_at < now - LAST_USED_PRECISION))
        .values(last_used_at=now))
    db.session.commit()


def check_function_key(bot: str) -> None:
    """Refuse the request (401, a JSON error) unless it carries a key in use of bot `bot`."""
    presented = request.args.get("code") or request.headers.get(HEADER)
    if not presented:
        raise Unauthorized(f"This API needs a function key of bot '{bot}': add ?code=KEY to the address or send "
                           f"the header '{HEADER}: KEY' (flask --app app keys create {bot} --name NAME makes one).")
    if authenticate(bot, presented) is None:
        raise Unauthorized(f"The function key is not one of bot '{bot}', or it was revoked.")


def require_function_key(view: Callable) -> Callable:
    """Decorate a view under `/b/<bot>/...` so that only holders of one of the bot's keys reach it."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        check_function_key(kwargs["bot"])
        return view(*args, **kwargs)

    return checked


def describe(row: FunctionKey) -> dict:
    """What may be shown of a key: never the key, which is not stored."""
    return {"id": row.id, "name": row.name, "created": _iso(row.created_at), "lastUsed": _iso(row.last_used_at),
            "revoked": _iso(row.revoked_at)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
