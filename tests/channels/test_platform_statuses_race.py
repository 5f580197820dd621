"""A message's status callbacks arriving at once (a platform sends delivered and read a moment apart, and two
web processes take them): neither is lost, and the status never moves backwards, on SQLite as on PostgreSQL.

The race is made, not hoped for (tests/races.py): two apps on one database; the first callback is held once it
has read the message's status, until the second is under way (it has asked for the lock, or, were there none,
has saved its own status from the same old read). Then the first saves; the status must be the forward one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from races import Race, another_app, engine_of
from sqlalchemy import event

from runtime.channels.platforms import statuses
from runtime.extensions import db
from runtime.store.activities import seq_of
from runtime.store.models import TranscriptEntry
from runtime.turns.turn import start_conversation


@pytest.fixture
def other(app) -> Iterator[Flask]:
    with another_app(app) as made:
        yield made


@pytest.fixture
def message_id(app, bots) -> str:
    """A message the bot sent (no status yet)."""
    bots.load("help-desk")
    with app.app_context():
        _, said = start_conversation("help-desk", "u1", "webchat")
    return next(activity["id"] for activity in said if activity.get("type") == "message")


def status_of(app: Flask, message_id: str) -> dict:
    conversation_id = message_id.rpartition("|")[0]
    with app.app_context():
        row = db.session.query(TranscriptEntry).filter_by(conversation_id=conversation_id,
                                                         seq=seq_of(message_id)).one()
        return row.activity["channelData"]["delivery"]


@pytest.mark.parametrize(("first", "second", "final"), [
    (statuses.DELIVERED, statuses.READ, statuses.READ),  # the later status must not be undone by the earlier
    (statuses.FAILED, statuses.DELIVERED, statuses.DELIVERED),  # delivered after all: not failed again
])
def test_two_callbacks_at_once_keep_the_forward_status(app, other, message_id, first, second, final):
    race = Race(other)

    @event.listens_for(engine_of(app), "after_cursor_execute")
    def _read(conn, cursor, statement, *args) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM transcript_entries" in statement:
            race.hold()  # the first callback has read the status it is about to change

    def second_callback() -> None:
        statuses.apply(message_id, second, description="second")
        race.second_under_way.set()  # only a callback that read the status without waiting gets here first

    race.run(app, lambda: statuses.apply(message_id, first, description="first"), other, second_callback)
    assert status_of(app, message_id) == {**status_of(app, message_id), "status": final, "description": "second"}
