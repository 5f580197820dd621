"""The SQL of a store-backed turn (`runtime.turns.turn`), as SQLAlchemy Core statements built once.

A turn runs for every message, and through the ORM nine tenths of a turn were SQLAlchemy's own work
(unit-of-work flush, identity-map loads, a cache key for each statement built anew), not the
database's. These statements are built at import, so their cache keys are memoized and their compiled
forms cached per engine; they run on the ORM session's connection, inside the session's transaction,
so commit, rollback and retry stay with `retry.in_transaction`. The ORM models remain the schema and
serve everything else (the designer, the CLI).

The hottest (`LOCK`, `LOAD`, the updates and inserts) are `Prepared`: compiled once per database and run
straight on the driver, as the Direct Line poll's are.

What the ORM did for concurrency is done here by hand: an update names the version it read
(`WHERE version_id = :read`) and raises `retry.Conflict` when no row matched, as the ORM's
`version_id_col` raised StaleDataError.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from runtime.store.models import (
    Bot,
    BotUser,
    Conversation,
    FuzzyQaLogEntry,
    HandoverSession,
    NlpLogEntry,
    StepVisit,
    TranscriptEntry,
)
from runtime.store.prepared import Prepared
from runtime.store.retry import Conflict
from runtime.webhooks.models import ACTIVE, WEBHOOK, WebhookSubscription

_conversation, _user, _bot = Conversation.__table__.c, BotUser.__table__.c, Bot.__table__.c
_transcript = TranscriptEntry.__table__.c

LOCK = Prepared(select(_conversation.id).where(_conversation.id == bindparam("conversation_id")).with_for_update())
"""PostgreSQL: lock the conversation row until commit. A statement of its own, so that `LOAD`, run
after the lock is granted, reads what the turn that held it committed (READ COMMITTED takes a new
snapshot per statement; a locking join would re-read only the locked row)."""

_answered_seq = (select(_transcript.seq)
                 .where(_transcript.conversation_id == _conversation.id,
                        _transcript.client_key == bindparam("client_key"))
                 .scalar_subquery())

_subscription = WebhookSubscription.__table__.c
_webhooks = (select(_subscription.id)
             .where(_subscription.bot_id == _conversation.bot_id, _subscription.status == ACTIVE,
                    _subscription.kind == WEBHOOK)
             .exists())

LOAD = Prepared(
    select(_conversation.id, _conversation.bot_id, _conversation.user_id, _conversation.channel,
           _conversation.state, _conversation.bot_version, _conversation.activity_seq,
           _conversation.updated_at, _conversation.handover_id, _conversation.version_id, _bot.published_version,
           _user.data.label("user_data"), _user.version_id.label("user_version"),
           _answered_seq.label("answered_seq"), _webhooks.label("webhooks"))
    # Inner joins: the conversation's foreign key guarantees its user, whose key guarantees the bot.
    .join_from(Conversation.__table__, BotUser.__table__,
               (_user.bot_id == _conversation.bot_id) & (_user.user_id == _conversation.user_id))
    .join(Bot.__table__, _bot.id == _conversation.bot_id)
    .where(_conversation.id == bindparam("conversation_id"))
)
"""Everything a turn reads, in one round trip: the conversation, the version its bot publishes, the
user's data, where the inbound activity with `client_key` (NULL matches none) already is, and whether the bot
has active webhook subscriptions (most have none: their turns then owe webhooks nothing without asking Redis)."""

_next_inbound = (select(func.min(_transcript.seq))
                 .where(_transcript.conversation_id == bindparam("conversation_id"),
                        _transcript.direction == "in", _transcript.seq > bindparam("seq"))
                 .scalar_subquery())

ANSWERS = (
    select(_transcript.activity)
    .where(_transcript.conversation_id == bindparam("conversation_id"), _transcript.direction == "out",
           _transcript.seq > bindparam("seq"), or_(_next_inbound.is_(None), _transcript.seq < _next_inbound))
    .order_by(_transcript.seq)
)
"""The replies to the inbound activity at `seq`: the outbound rows up to the next inbound one
(turns are serialized, so a turn's rows are contiguous)."""

LOAD_USER = Prepared(select(_user.data, _user.version_id).where(
    _user.bot_id == bindparam("bot_id"), _user.user_id == bindparam("user_id")))
"""A new conversation's user, if the bot knows them already."""

ROWS_BETWEEN = (select(_transcript.seq, _transcript.direction, _transcript.activity)
                .where(_transcript.conversation_id == bindparam("conversation_id"),
                       _transcript.seq.between(bindparam("first"), bindparam("last")))
                .order_by(_transcript.seq))

TRANSCRIPT = (select(_transcript.activity)
              .where(_transcript.conversation_id == bindparam("conversation_id"),
                     _transcript.seq > bindparam("after_seq"))
              .order_by(_transcript.seq))

# Updates without values(): the SET clause is the columns named in the parameters.
_UPDATE_CONVERSATION = Prepared(update(Conversation.__table__).where(
    _conversation.id == bindparam("where_id"), _conversation.version_id == bindparam("where_version")))
_UPDATE_USER = Prepared(update(BotUser.__table__).where(
    _user.bot_id == bindparam("where_bot_id"), _user.user_id == bindparam("where_user_id"),
    _user.version_id == bindparam("where_version")))
INSERT_CONVERSATION = Prepared(insert(Conversation.__table__))
INSERT_USER = Prepared(insert(BotUser.__table__))
_INSERT_TRANSCRIPT = Prepared(insert(TranscriptEntry.__table__))
_INSERT_NLP = Prepared(insert(NlpLogEntry.__table__))
_INSERT_FUZZY = Prepared(insert(FuzzyQaLogEntry.__table__))
_INSERT_VISITS = Prepared(insert(StepVisit.__table__))
_handover = HandoverSession.__table__.c
INSERT_HANDOVER = insert(HandoverSession.__table__)
END_HANDOVER = (update(HandoverSession.__table__)
                .where(_handover.id == bindparam("session_id"), _handover.status != "closed")
                .values(status="closed", closed_at=bindparam("at"), closed_by=bindparam("by"),
                        close_reason=bindparam("reason")))
"""Close a handover session unless it is closed already (its rowcount says which)."""
HANDOVER = select(_handover.status, _handover.step_id).where(_handover.id == bindparam("session_id"))


def update_conversation(connection: Connection, loaded: tuple, **values) -> None:
    """Write `values` to the conversation `loaded` was read from, if nobody changed it since."""
    _checked(connection, _UPDATE_CONVERSATION, {
        **values, "version_id": loaded.version_id + 1, "where_id": loaded.id,
        "where_version": loaded.version_id})


def update_user(connection: Connection, loaded: tuple, **values) -> None:
    """Write `values` to the conversation's user, if nobody changed the user since `loaded` was read."""
    _checked(connection, _UPDATE_USER, {
        **values, "version_id": loaded.user_version + 1, "where_bot_id": loaded.bot_id,
        "where_user_id": loaded.user_id, "where_version": loaded.user_version})


def insert_rows(connection: Connection, transcript: list[dict], nlp_log: list[dict], fuzzy_log: list[dict] = (),
                visits: list[dict] = ()) -> None:
    """Append transcript, NLP-log, fuzzy-QA-log and step-visit rows, each table in one executemany."""
    for statement, rows in ((_INSERT_TRANSCRIPT, transcript), (_INSERT_NLP, nlp_log), (_INSERT_FUZZY, fuzzy_log),
                            (_INSERT_VISITS, visits)):
        if rows:
            statement.write_many(connection, rows)


def _checked(connection: Connection, statement: Prepared, params: dict) -> None:
    if statement.write(connection, params) != 1:
        raise Conflict(f"{statement.statement.table.name}: the row changed since it was read")
