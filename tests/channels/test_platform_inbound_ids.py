"""An inbound id is applied once per connection, whatever became of the conversation (issue 16, bug 3): a
platform message re-sent with the same id after the bot had ended the conversation is not applied again in a
new one. The ids are kept for inbound_ids.KEEP (48 hours), then pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from platform_samples import BOT, message
from sqlalchemy import func, select

from runtime.channels.platforms import connections, inbound_ids
from runtime.channels.platforms.models import PlatformInboundId
from runtime.extensions import db
from runtime.store.bots import import_bot
from runtime.store.models import Conversation
from runtime.turns.transcript import transcript

HOOK = "/b/pbot/hooks/acme"


@pytest.fixture
def token(app, receiver):
    with app.app_context():
        import_bot(BOT, publish=True)
        return connections.create("pbot", "acme", "Acme CX", receiver.url).token


def post(client, body, token):
    return client.post(HOOK, json=body, headers={"Authorization": f"Bearer {token}"})


def conversations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Conversation))


def test_a_message_resent_after_the_bot_ended_the_conversation_is_not_applied_again(app, client, token, jobs):
    first = post(client, message("Tea", "m1"), token).json["conversationId"]
    assert post(client, message("Bye", "m-bye"), token).json["conversationId"] == first  # the bot ends it here
    again = post(client, message("Bye", "m-bye"), token)  # the platform re-sends it, later
    assert again.status_code == 200 and again.json["conversationId"] == first
    assert conversations(app) == 1
    with app.app_context():
        said = [row.get("text") for row in transcript(first) if row["from"]["role"] == "user"]
    assert said == ["Tea", "Bye"]
    fresh = post(client, message("Tea", "m2"), token).json["conversationId"]  # a new id opens a new one
    assert fresh != first and conversations(app) == 2


def test_the_same_id_on_another_connection_is_its_own(app, client, token, receiver):
    with app.app_context():
        other = connections.create("pbot", "other", "Other CX", receiver.url).token
    first = post(client, message("Tea", "m1"), token).json["conversationId"]
    elsewhere = client.post("/b/pbot/hooks/other", json=message("Tea", "m1", service="other-cx"),
                            headers={"Authorization": f"Bearer {other}"}).json["conversationId"]
    assert elsewhere != first


def test_ids_are_kept_for_the_window_then_pruned(app, client, token, clock):
    post(client, message("Tea", "m1"), token)
    with app.app_context():
        assert inbound_ids.prune() == 0
        assert inbound_ids.KEEP >= timedelta(hours=24)
    clock.move_to(clock.later(hours=inbound_ids.KEEP.total_seconds() / 3600 + 1))
    with app.app_context():
        assert inbound_ids.prune() == 1
        assert db.session.scalar(select(func.count()).select_from(PlatformInboundId)) == 0
