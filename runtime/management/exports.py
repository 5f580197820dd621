"""Exports: `GET /b/<bot>/api/management/export/<name>`, a JSON array of rows streamed from a server-side cursor.

An export is one entry of `EXPORTS`: its table, its time column (the one `fromTimestamp`/`toTimestamp`
bound) and its fields, each a camelCase name and the column it reads. Adding one is adding an entry.
`userData` and `userDataSnapshot` also spread a JSON column of storages into the row, camelCased.

Rows are read with `yield_per` (SQLite's cursor steps through the table; PostgreSQL's is a named,
server-side cursor) and written out a batch at a time, so a million rows cost the memory of a batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Response, request
from sqlalchemy.sql.expression import TableClause
from werkzeug.exceptions import BadRequest, NotFound

from runtime import steps
from runtime.extensions import db
from runtime.management import filters as query
from runtime.management import rows
from runtime.management.models import OutgoingEmail, OutgoingSms, UrlClick, UserDataSnapshot
from runtime.store import bots
from runtime.store.models import BotUser, FuzzyQaLogEntry, NlpLogEntry, UTCDateTime

BATCH = 2000


@dataclass(frozen=True)
class Export:
    table: TableClause
    time: str  # the column of the row's time: `timestamp` in the row, and what the time filters bound
    fields: dict[str, str]  # camelCase field -> column; "timestamp" is the time column
    storages: str | None = None  # a JSON column whose storages are fields of the row too
    order: str = "id"

    def select(self, bot_id: str, filters: query.Filters) -> sa.Select:
        c = self.table.c
        # Times as the driver gives them (SQLite: text), turned to ISO 8601 by `rows.when` without a datetime.
        columns = [sa.type_coerce(c[column], sa.String) if column == self.time else c[column]
                   for column in self.fields.values()]
        if self.storages:
            columns.append(sa.cast(c[self.storages], sa.Text))  # decoded here, one json.loads per row
        statement = sa.select(*columns).where(c.bot_id == bot_id).order_by(c[self.order])
        if filters.since:
            statement = statement.where(c[self.time] >= filters.since)
        if filters.until:
            statement = statement.where(c[self.time] <= filters.until)
        return statement

    def encoder(self, matches: rows.Matcher) -> Callable[[sa.Row], str | None]:
        """Turn a result row into the JSON text of the exported object (None when the filters leave it out)."""
        return rows.storage_rows(matches) if self.storages else rows.fixed_rows(list(self.fields), matches)


def _table(name: str, *columns: str, json_columns: tuple[str, ...] = ()) -> TableClause:
    """A table another part of Arbor owns, named by its columns only: an export needs no more."""
    typed = {"timestamp": UTCDateTime(), **{column: sa.JSON() for column in json_columns}}
    return sa.table(name, *(sa.column(column, typed.get(column)) for column in ("id", "bot_id", *columns)))


EXPORTS: dict[str, Export] = {
    "userData": Export(BotUser.__table__, "last_message_at", {"userId": "user_id", "timestamp": "last_message_at"},
                       storages="data", order="user_id"),
    "userDataSnapshot": Export(UserDataSnapshot.__table__, "timestamp", {"userId": "user_id", "timestamp": "timestamp"},
                               storages="data"),
    "nlpLog": Export(NlpLogEntry.__table__, "timestamp", {
        "userId": "user_id", "timestamp": "timestamp", "dialogId": "dialog_id", "stepId": "step_id",
        "stepType": "step_type", "query": "query", "modelId": "model_id", "intent": "intent", "result": "result",
        "processed": "processed"}),
    "outgoingEmail": Export(OutgoingEmail.__table__, "timestamp", {
        "userId": "user_id", "timestamp": "timestamp", "body": "body", "from": "sender", "recipients": "recipients",
        "replyTo": "reply_to", "stepId": "step_id", "subject": "subject"}),
    "outgoingSms": Export(OutgoingSms.__table__, "timestamp", {
        "userId": "user_id", "timestamp": "timestamp", "channel": "channel", "link": "link", "message": "message",
        "provider": "provider", "recipients": "recipients"}),
    "fuzzyQuestionAnswerLog": Export(FuzzyQaLogEntry.__table__, "timestamp", {  # typed: `matched` is a JSON boolean
        "userId": "user_id", "timestamp": "timestamp", "intent": "intent", "score": "score", "text": "text",
        "stepId": "step_id", "dialogId": "dialog_id", "matched": "matched",
        "otherClassifications": "other_classifications"}),
    "integrationLog": Export(_table(
        "integration_log", "user_id", "timestamp", "url", "method", "request_body", "request_headers",
        "response_status", "response_body", "duration_ms", json_columns=("request_headers",)), "timestamp", {
        "userId": "user_id", "timestamp": "timestamp", "url": "url", "method": "method",
        "requestBody": "request_body", "requestHeaders": "request_headers", "responseStatus": "response_status",
        "responseBody": "response_body", "duration": "duration_ms"}),
    "urlTracker": Export(UrlClick.__table__, "timestamp", {
        "userId": "user_id", "timestamp": "timestamp", "domain": "domain", "url": "url"}),
}


def export(bot: str, name: str) -> Response:
    """Stream the export `name` of `bot` as a JSON array, filtered by the query parameters."""
    chosen = EXPORTS.get(name)
    if chosen is None or not _available(chosen):
        raise NotFound(f"There is no export '{name[:60]}'. The exports are: {', '.join(available_names())}.")
    filters = query.parse(request.args)
    if chosen.storages:
        _check_storages(bot, chosen, filters, name)
    else:
        query.check_fields(filters, chosen.fields, name)
    db.session.close()  # the checks' connection goes back to the pool; the rows come by a connection of their own
    connection = db.engine.connect()
    try:
        found = connection.execution_options(yield_per=BATCH).execute(chosen.select(bot, filters))
    except BaseException:
        connection.close()
        raise
    return Response(_json_array(connection, found, chosen.encoder(filters.matcher())),
                    content_type="application/json")


def available_names() -> list[str]:
    return [name for name, entry in EXPORTS.items() if _available(entry)]


def _json_array(connection: sa.Connection, found: sa.Result, encoder: Callable[[sa.Row], str | None]
                ) -> Iterator[str]:
    """`[`, the rows a batch at a time, `]`: the client sees the first rows while the last are read.

    The connection is the export's own, not the request's session (which is gone once the view returns,
    while the body is still being sent); it is closed when the body ends or the client goes away.
    """
    first = True
    try:
        for batch in found.partitions():
            texts = [text for text in map(encoder, batch) if text is not None]
            if texts:
                yield ("[" if first else ",") + ",".join(texts)
                first = False
        yield "[]" if first else "]"
    finally:
        found.close()
        connection.close()


def _available(entry: Export) -> bool:
    """An export whose table another part of Arbor brings exists once that part is installed."""
    if isinstance(entry.table, sa.Table):
        return True
    return sa.inspect(db.session.connection()).has_table(entry.table.name)


def _check_storages(bot: str, chosen: Export, filters: query.Filters, name: str) -> None:
    """A storage filter must name a storage the bot writes or some row of the export holds (a typo is a 400).

    A row may hold the field under another spelling that camelCases to it (`first_name`, `FirstName`).
    """
    known = set(chosen.fields) | _written_storages(bot)
    c = chosen.table.c
    for field in sorted(filters.fields - known):
        spellings = {field, field[:1].upper() + field[1:], re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), field)}
        held = db.session.scalar(sa.select(c.user_id).where(c.bot_id == bot, sa.or_(
            *(c[chosen.storages][name].as_string().is_not(None) for name in sorted(spellings)))).limit(1))
        if held is None:
            raise BadRequest(f"No row of the export '{name}' of bot '{bot}' has the field '{field[:60]}', and the bot "
                             f"writes no such storage; check its spelling (fields are camelCase: firstName).")


def _written_storages(bot: str) -> set[str]:
    """The storages the bot's published version writes, camelCased; none for an unknown or unpublished bot."""
    try:
        indexed = bots.load_indexed(bot, bots.get_bot(bot).published_version or bots.DRAFT)
    except LookupError:
        return set()
    names: set[str] = set()
    for step in indexed.steps.values():
        writes = steps.WRITES.get(step.get("type"))
        names.update(rows.camel(n) for n in (writes(step) if writes else ()) if n)
    return names
