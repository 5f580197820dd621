"""Where a bot's chat was refused lately: the origins of pages that asked for a chat (the webchat token URL, a
Direct Line stream) and were turned away because the bot does not allow them. The designer shows them among
the bot's problems and fills the Share panel's "Add this website" with the last one, so a person who pasted
the snippet on their site learns why it stays silent without opening the browser's console.

Kept in Redis, shared by every process: a sorted set per bot of at most `KEEP` origins by the time they were
last refused, which lapses after `FOR_DAYS` days without a refusal. Only origins as browsers write them
(`scheme://host[:port]`) and only for bots that exist are kept, so a flood of made-up origins or bot ids
grows nothing beyond `KEEP` entries per existing bot. A Redis that cannot be reached costs the record, never
the refusal.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from flask import current_app
from sqlalchemy import select

from runtime.channels.directline.cors import normalize_origin
from runtime.channels.directline.errors import storable_id
from runtime.extensions import db
from runtime.jobs import connection
from runtime.store.models import Bot

log = logging.getLogger(__name__)

KEEP = 5
FOR_DAYS = 30
LONGEST = 300  # characters: an origin longer than this is not a website anyone adds
WEBSITE = re.compile(r"https?://[a-z0-9.\-\[\]:]+")  # what a browser sends for a website: no markup, no spaces


@dataclass(frozen=True)
class Refusal:
    origin: str
    at: datetime


def record(bot_id: str, origin: str | None) -> None:
    """Note that a page of `origin` was refused a chat with the bot (nothing for a malformed origin or no bot)."""
    try:
        origin = normalize_origin(origin or "")
    except ValueError:
        return
    if not WEBSITE.fullmatch(origin) or len(origin) > LONGEST or not storable_id(bot_id) or not _exists(bot_id):
        return
    key = _key(bot_id)
    try:
        with connection().pipeline() as pipe:
            pipe.zadd(key, {origin: time.time()})
            pipe.zremrangebyrank(key, 0, -KEEP - 1)
            pipe.expire(key, FOR_DAYS * 86400)
            pipe.execute()
    except redis.RedisError:
        log.warning("bot %s: could not record a refused origin", bot_id, exc_info=True)


def recent(bot_id: str) -> list[Refusal]:
    """The origins refused lately, the last refused first."""
    try:
        found = connection().zrevrange(_key(bot_id), 0, KEEP - 1, withscores=True)
    except redis.RedisError:
        log.warning("bot %s: could not read refused origins", bot_id, exc_info=True)
        return []
    return [Refusal(origin.decode(), datetime.fromtimestamp(at, UTC)) for origin, at in found]


def forget(bot_id: str, origin: str) -> None:
    """The origin is allowed now: it is no longer a problem."""
    try:
        connection().zrem(_key(bot_id), origin)
    except redis.RedisError:
        log.warning("bot %s: could not forget a refused origin", bot_id, exc_info=True)


def _key(bot_id: str) -> str:
    return f"{current_app.config['ARBOR_REDIS_PREFIX']}arbor:refused-origins:{bot_id}"


def _exists(bot_id: str) -> bool:
    return db.session.connection().scalar(select(Bot.__table__.c.id).where(Bot.__table__.c.id == bot_id)) is not None
