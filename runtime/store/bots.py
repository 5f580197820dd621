"""Bots: import a document as the draft, publish it as an immutable version, load versions to run.

Loading a version indexes its document for the engine; published versions never change, so the
indexed form is cached per app (`app.extensions["arbor.bots"]`) and shared by all requests.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import defer

from runtime import botdoc
from runtime.extensions import db
from runtime.store.models import Bot, BotVersion
from runtime.store.retry import in_transaction, write_first

T = TypeVar("T")

DRAFT = 0  # the version number that means "the draft" (designer preview)
CACHE_SIZE = 64


class BotNotFound(LookupError):
    def __init__(self, bot_id: str):
        super().__init__(f"There is no bot '{bot_id}'.")
        self.bot_id = bot_id


class BotNotPublished(LookupError):
    def __init__(self, bot_id: str, number: int | None = None):
        which = f"no version {number}" if number else "not been published"
        super().__init__(f"Bot '{bot_id}' has {which}; publish it first.")
        self.bot_id, self.number = bot_id, number


def import_bot(doc: dict, *, publish: bool = False, keep_problems: bool = False) -> Bot:
    """Save a document as its bot's draft (creating the bot), and publish it too if asked, atomically.

    The document is migrated and validated first: an invalid one raises `botdoc.DocumentError`
    and the last valid draft stays as it was. `keep_problems` (the designer's "import anyway") saves
    a document with errors as the draft of a new bot, to be mended in the editor; it cannot be published
    until it is valid, and it never replaces an existing bot.
    """
    if keep_problems and not publish:
        doc = botdoc.migrate(doc)
        if db.session.get(Bot, doc.get("id")) is not None:
            raise botdoc.DocumentError([botdoc.Problem("/id", f"There is already a bot '{doc.get('id')}'.")])
    else:
        doc = botdoc.check(doc)

    def save() -> Bot:
        bot = db.session.get(Bot, doc["id"]) or Bot(id=doc["id"], draft_revision=0, settings={})
        bot.name = doc.get("name") or doc["id"]
        bot.draft = doc
        bot.draft_revision += 1
        db.session.add(bot)
        if publish:
            _freeze(bot)
        return bot

    return in_transaction(save)


def publish(bot_id: str, note: str | None = None, by: str | None = None) -> BotVersion:
    """Freeze the draft as the next version number; conversations move to it on their next turn.

    A draft with errors (the designer saves drafts as they are built) raises `botdoc.DocumentError`. A bot
    set to require its conversation tests to pass is published only if they pass on the draft (else
    `conversation_tests.TestsFailed`, naming the first failure).
    """
    from runtime.store import conversation_tests  # it runs bots through this module

    def freeze() -> BotVersion:
        bot = get_bot(bot_id)
        botdoc.check(bot.draft)
        return _freeze(bot, note, by)

    conversation_tests.check_before_publish(bot_id)
    return in_transaction(freeze)


def list_versions(bot_id: str) -> list[BotVersion]:
    """The bot's published versions, newest first (documents not loaded)."""
    return list(db.session.scalars(select(BotVersion).where(BotVersion.bot_id == bot_id)
                                   .options(defer(BotVersion.document)).order_by(BotVersion.number.desc())))


def delete_bot(bot_id: str) -> None:
    """Delete a bot with its versions, conversations and users' data."""
    db.session.delete(get_bot(bot_id))
    db.session.commit()


def free_id(wanted: str) -> str:
    """A bot id like `wanted` (lower case, letters, digits and -) that no bot has yet."""
    base = re.sub(r"[^a-z0-9]+", "-", wanted.lower()).strip("-")[:48] or "bot"
    candidate, n = base, 1
    while db.session.get(Bot, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _freeze(bot: Bot, note: str | None = None, by: str | None = None) -> BotVersion:
    last = db.session.scalar(select(func.max(BotVersion.number)).where(BotVersion.bot_id == bot.id))
    version = BotVersion(bot_id=bot.id, number=(last or 0) + 1, document=bot.draft, note=note, created_by=by)
    db.session.add(version)
    bot.published_version = version.number
    bot.published_revision = bot.draft_revision
    return version


def draft_status(bot: Bot) -> str:
    """"never" (no version yet), "published" (the draft is the live version) or "changed" (the draft differs).

    Read from revisions; only a bot published before they were kept has its two documents compared."""
    if bot.published_version is None:
        return "never"
    if bot.published_revision is not None:
        return "published" if bot.published_revision == bot.draft_revision else "changed"
    return "published" if get_version_doc(bot.id) == bot.draft else "changed"


def draft_is_live(bot_id: str, revision: int) -> None:
    """Record that the draft at `revision` holds the live version again (a rollback to it)."""
    db.session.execute(update(Bot).where(Bot.id == bot_id, Bot.draft_revision == revision)
                       .values(published_revision=revision))
    db.session.commit()


def get_version_doc(bot_id: str, number: int | None = None) -> dict:
    """The document of a published version (the latest when `number` is None), or of the draft for 0."""
    bot = get_bot(bot_id)
    if number == DRAFT:
        return bot.draft
    number = number or bot.published_version
    if number is None:
        raise BotNotPublished(bot_id)
    document = db.session.scalar(
        select(BotVersion.document).where(BotVersion.bot_id == bot_id, BotVersion.number == number))
    if document is None:
        raise BotNotPublished(bot_id, number)
    return document


def list_bots() -> list[Bot]:
    """All bots, by name."""
    return list(db.session.scalars(select(Bot).order_by(Bot.name, Bot.id)))


def init_app(app: Flask) -> None:
    """Give the app its cache of indexed bot versions."""
    app.extensions["arbor.bots"] = LRU(app.config.get("ARBOR_BOT_CACHE_SIZE", CACHE_SIZE))


def load_indexed(bot_id: str, version: int) -> botdoc.Bot:
    """A version of a bot indexed for the engine; 0 is the draft (cached per draft revision)."""
    draft = get_bot(bot_id) if version == DRAFT else None
    key = (bot_id, version, draft.draft_revision if draft else None)
    cache: LRU = current_app.extensions["arbor.bots"]
    indexed = cache.get(key)
    if indexed is None:
        indexed = botdoc.load(draft.draft if draft else get_version_doc(bot_id, version))
        cache.put(key, indexed)
    return indexed


def get_bot(bot_id: str) -> Bot:
    """The bot row, or BotNotFound."""
    bot = db.session.get(Bot, bot_id)
    if bot is None:
        raise BotNotFound(bot_id)
    return bot


def change_setting(bot_id: str, key: str, change: Callable[[Any], T]) -> T:
    """Save `change(the setting's value now)` (None when unset) as the bot's setting `key`; returns what was saved.

    A bot's settings are one JSON document that several features write (allowed websites, the share link,
    the outbox, canned answers...), so each save locks the bot before it reads the document: another save,
    of this key or another, in this process or any other, waits until this one commits and then changes the
    document this one saved, not the one both read. `change` may raise (a ValueError for bad input): nothing is
    saved. Raises BotNotFound.
    """
    return change_settings(bot_id, lambda settings: {key: change(settings.get(key))})[key]


def change_settings(bot_id: str, change: Callable[[dict], dict]) -> dict:
    """Save the settings `change(the bot's settings now)` returns over the others, in one transaction, locked as
    `change_setting` locks it; returns them. For settings that change together (a list and its revision)."""

    def save() -> dict:
        bot = _locked(bot_id)
        values = change(dict(bot.settings or {}))
        bot.settings = {**(bot.settings or {}), **values}
        return values

    return in_transaction(save)


def _locked(bot_id: str) -> Bot:
    """The bot's row, fresh, that no other transaction may change until this one ends: PostgreSQL locks the row
    (FOR UPDATE); SQLite, which has one writer for the whole database, takes its write lock now, before the
    read, rather than at the first write (`retry.write_first`)."""
    write_first()
    bot = db.session.get(Bot, bot_id, with_for_update=True, populate_existing=True)
    if bot is None:
        raise BotNotFound(bot_id)
    return bot


class LRU:
    """A small thread-safe least-recently-used map (request threads share one per app)."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
            return self.items.get(key)

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
