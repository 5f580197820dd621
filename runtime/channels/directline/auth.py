"""Who is calling: the Bearer credential of a Direct Line request, and the conversation it may touch.

Statuses follow what DirectLineJS does with them: 401 for no credential at all; 403 for one that
does not open what is asked (forged, expired, another conversation's), which the client reports
as an expired token so the page can get a new one; 404 only for a conversation that is not there.
A page the bot does not allow is refused with 403 OriginNotAllowed along with the conversation's check
(`cors.check_page`), before the call does anything.
"""

from __future__ import annotations

from flask import request
from sqlalchemy import Connection, bindparam, select

from runtime.channels.directline import cors, secret, tokens
from runtime.channels.directline.errors import DirectLineError, storable_id
from runtime.extensions import db
from runtime.store.models import Bot, Conversation, TranscriptEntry
from runtime.store.prepared import Prepared

_conversation, _bot, _transcript = Conversation.__table__.c, Bot.__table__.c, TranscriptEntry.__table__.c
# Core statements built once and run on the driver (not the ORM: every poll runs one); the bot's settings
# come along for CORS.
_CONVERSATION = Prepared(
    select(_conversation.id, _conversation.bot_id, _conversation.user_id, _conversation.activity_seq, _bot.settings)
    .join_from(Conversation.__table__, Bot.__table__, _bot.id == _conversation.bot_id)
    .where(_conversation.id == bindparam("conversation_id")))
_POLL = Prepared(
    select(_conversation.bot_id, _conversation.activity_seq, _bot.settings, _transcript.activity)
    .join_from(Conversation.__table__, Bot.__table__, _bot.id == _conversation.bot_id)
    .outerjoin(TranscriptEntry.__table__, (_transcript.conversation_id == _conversation.id)
               & (_transcript.seq > bindparam("after_seq")))
    .where(_conversation.id == bindparam("conversation_id"))
    .order_by(_transcript.seq))
"""The conversation and its activities after a sequence number, in one query: one row per activity, or
one row with a NULL activity when there is none."""


def caller(needs: str | None = None) -> tokens.Grant:
    """The grant of the request's `Authorization: Bearer <secret or token>`; remembers its bot for CORS.

    `needs` is "secret" for tokens/generate, "token" for tokens/refresh.
    """
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise DirectLineError(401, "MissingCredential",
                              "Send the header Authorization: Bearer <the bot's Direct Line secret or a token>.")
    if "." in credential:  # a JWT; secrets have no dots
        try:
            grant = tokens.read(credential)
        except tokens.TokenExpired:
            raise DirectLineError(403, "TokenExpired", "The token has expired: get a new one (and refresh "
                                                       "tokens with /tokens/refresh before they expire).") from None
        except tokens.TokenRejected:
            raise DirectLineError(403, "InvalidToken", "This token was not issued by this server, or was "
                                                       "altered.") from None
    else:
        bot_id = secret.bot_of(credential)
        if bot_id is None:
            raise DirectLineError(403, "InvalidSecret", "This is not the Direct Line secret of any bot here "
                                                        "(was it regenerated?).")
        grant = tokens.Grant(bot_id)
    cors.remember_bot(grant.bot_id)
    if needs == "secret" and grant.is_token:
        raise DirectLineError(403, "SecretRequired", "Generate tokens with the bot's Direct Line secret, from "
                                                     "your server; a token can only be refreshed.")
    if needs == "token" and not grant.is_token:
        raise DirectLineError(403, "TokenRequired", "Refresh a token, not a secret: send Authorization: "
                                                    "Bearer <the token to refresh>.")
    return grant


def conversation_for(grant: tokens.Grant, conversation_id: str) -> tuple:
    """The conversation (`id`, `bot_id`, `user_id`, `activity_seq`), if the grant opens it: a token only
    its own, a secret any of its bot's. Read on the session's connection, which the request goes on using."""
    _check_token(grant, conversation_id)
    return _checked(grant, conversation_id, _rows(db.session.connection(), _CONVERSATION, conversation_id))[0]


def activities_for(grant: tokens.Grant, conversation_id: str, after_seq: int) -> tuple[int, list[dict]]:
    """The conversation's last sequence number and its activities after `after_seq`, if the grant opens it.

    Clients poll this every second or more often, so it is one query, on a pooled connection of its own:
    the ORM session, which a poll needs nothing of, would cost it a sixth more. One statement reads one
    snapshot, so it runs outside a transaction on PostgreSQL, where BEGIN and ROLLBACK were two of a
    poll's three round trips (SQLite's driver opens no transaction for a read anyway).
    """
    _check_token(grant, conversation_id)
    with db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        rows = _checked(grant, conversation_id, _rows(connection, _POLL, conversation_id, after_seq=after_seq))
    return rows[0].activity_seq, [row.activity for row in rows if row.activity is not None]


def _check_token(grant: tokens.Grant, conversation_id: str) -> None:
    if grant.is_token and grant.conversation_id != conversation_id:
        raise DirectLineError(403, "WrongConversation", "This token opens another conversation; use the "
                                                        "conversationId it came with.")


def _rows(connection: Connection, statement: Prepared, conversation_id: str, **params) -> list[tuple]:
    if not storable_id(conversation_id):
        return []
    return statement.rows(connection, {"conversation_id": conversation_id, **params})


def _checked(grant: tokens.Grant, conversation_id: str, rows: list[tuple]) -> list[tuple]:
    """The rows read for the conversation, if it is there, of the grant's bot and the calling page may have it
    (`cors.check_page`, by the bot's origins read with it: no query of its own); keeps the bot's origins."""
    if not rows:
        raise DirectLineError(404, "ConversationNotFound", f"There is no conversation '{conversation_id}'.")
    if rows[0].bot_id != grant.bot_id:
        raise DirectLineError(403, "WrongConversation", "This conversation belongs to another bot.")
    cors.remember_origins(rows[0].settings)
    cors.check_page(bound=grant.origin is not None)
    return rows
