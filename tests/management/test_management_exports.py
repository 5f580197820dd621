"""Exports: the documented calls replayed exactly, every field and filter, the bad inputs, and streaming."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from management import key_fixture  # noqa: F401  (a fixture)

from runtime.extensions import db
from runtime.management.exports import EXPORTS
from runtime.management.models import OutgoingEmail, UrlClick, UserDataSnapshot
from runtime.management.rows import camel
from runtime.steps.base import Input
from runtime.store.models import BotUser
from runtime.turns.turn import handle, start_conversation

BASE = "/b/store-basics/api/management/export"
JUNE_7 = 1559901734  # the documented example's fromTimestamp: 2019-06-07 10:02:14 UTC


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.fixture
def users(app, key):
    """Four users of store-basics with storages, last seen around the documented fromTimestamp."""
    with app.app_context():
        db.session.add_all([
            BotUser(bot_id="store-basics", user_id="u-eva", last_message_at=at(JUNE_7 + 60),
                    data={"phone": "+420777000111", "email": "eva@example.com", "gender": "female",
                          "first_name": "Eva", "age": 31, "vip": True}),
            BotUser(bot_id="store-basics", user_id="u-adam", last_message_at=at(JUNE_7 + 120),
                    data={"phone": "+420777000222", "gender": "male", "FavouriteColor": "blue", "age": 40}),
            BotUser(bot_id="store-basics", user_id="u-old", last_message_at=at(JUNE_7 - 3600),
                    data={"phone": "+420777000333", "gender": "male"}),
            BotUser(bot_id="store-basics", user_id="u-quiet", last_message_at=None,
                    data={"phone": "", "gender": "male"}),
        ])
        db.session.commit()


def test_the_documented_not_empty_call(client, key, users):
    response = client.get(f"{BASE}/userData?notEmpty=phone&fromTimestamp=1559901734&code={key}")
    assert response.status_code == 200 and response.content_type == "application/json"
    assert response.json == [
        {"userId": "u-adam", "timestamp": "2019-06-07T10:04:14.000000Z", "phone": "+420777000222",
         "gender": "male", "favouriteColor": "blue", "age": 40},
        {"userId": "u-eva", "timestamp": "2019-06-07T10:03:14.000000Z", "phone": "+420777000111",
         "email": "eva@example.com", "gender": "female", "firstName": "Eva", "age": 31, "vip": True},
    ]


def test_the_documented_where_call(client, key, users):
    response = client.get(f"{BASE}/userData?whereGender=male&&code={key}")
    assert response.status_code == 200
    assert [row["userId"] for row in response.json] == ["u-adam", "u-old", "u-quiet"]
    assert response.json[2]["timestamp"] is None  # never wrote a message


def test_filters_combine_and_bound_both_ends(client, key, users):
    def ids(params: str) -> list[str]:
        response = client.get(f"{BASE}/userData?{params}", headers={"x-functions-key": key})
        assert response.status_code == 200, response.json
        return [row["userId"] for row in response.json]

    assert ids("") == ["u-adam", "u-eva", "u-old", "u-quiet"]
    assert ids(f"fromTimestamp={JUNE_7 + 60}&toTimestamp={JUNE_7 + 60}") == ["u-eva"]  # both ends included
    assert ids(f"toTimestamp={JUNE_7}") == ["u-old"]
    assert ids(f"fromTimestamp={JUNE_7}.5") == ["u-adam", "u-eva"]
    assert ids("notEmpty=phone,email") == ["u-eva"]
    assert ids("notEmpty=phone") == ["u-adam", "u-eva", "u-old"]  # "" is empty
    assert ids("whereAge=40") == ["u-adam"] and ids("whereVip=true") == ["u-eva"]
    assert ids("whereFirstName=Eva&whereGender=female") == ["u-eva"]
    assert ids("whereGender=male&notEmpty=favouriteColor") == ["u-adam"]
    assert ids("whereGender=nobody") == []


@pytest.mark.parametrize("params, says", [
    ("fromTimestamp=yesterday", "fromTimestamp must be a time in UNIX seconds"),
    ("toTimestamp=1e400", "toTimestamp must be a time in UNIX seconds"),
    ("fromTimestamp=nan", "fromTimestamp must be"),
    ("fromTimestamp=1559901734&toTimestamp=1559900000", "fromTimestamp is after toTimestamp"),
    ("notEmpty=fax", "has the field 'fax'"),
    ("whereShoeSize=42", "has the field 'shoeSize'"),
    ("fromTimestmp=1559901734", "Unknown parameter 'fromTimestmp'"),
    ('whereFoo"bar=1', "is not a field name"),
    ("notEmpty=phone,%00", "is not a field name"),
])
def test_bad_filters_are_a_400_that_says_what_to_change(client, key, users, params, says):
    response = client.get(f"{BASE}/userData?{params}&code={key}")
    assert response.status_code == 400 and says in response.json["error"]["message"]


def test_an_unknown_export_lists_the_exports(client, key):
    response = client.get(f"{BASE}/userDatas?code={key}")
    assert response.status_code == 404
    message = response.json["error"]["message"]
    assert "There is no export 'userDatas'" in message
    for name in ("userData", "userDataSnapshot", "nlpLog", "outgoingEmail", "outgoingSms", "urlTracker"):
        assert name in message


def test_fixed_field_exports_refuse_unknown_fields(client, key):
    response = client.get(f"{BASE}/urlTracker?notEmpty=phone&code={key}")
    assert response.status_code == 400
    assert "its fields are: domain, timestamp, url, userId" in response.json["error"]["message"]


def test_the_nlp_log_export_has_its_fields(app, client, key):
    with app.app_context():
        conversation, _ = start_conversation("store-basics", "u-nlp", "webchat")
        handle(conversation.id, Input.message("eva@example.com"))
        handle(conversation.id, Input.message("a mortgage please"))  # not one of the choice's options
    rows = client.get(f"{BASE}/nlpLog?code={key}").json
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == ["userId", "timestamp", "dialogId", "stepId", "stepType", "query", "modelId", "intent",
                         "result", "processed"]
    assert (row["userId"], row["dialogId"], row["stepId"], row["stepType"], row["query"], row["processed"]) == \
        ("u-nlp", "welcome", "sb-w3", "choice", "a mortgage please", False)
    assert client.get(f"{BASE}/nlpLog?whereStepId=sb-w3&notEmpty=query&code={key}").json == rows
    assert client.get(f"{BASE}/nlpLog?whereStepId=sb-w1&code={key}").json == []


def test_log_exports_have_exactly_the_documented_fields(app, client, key):
    with app.app_context():
        db.session.add_all([
            UserDataSnapshot(bot_id="store-basics", user_id="u1", timestamp=at(JUNE_7), step_id="s1",
                             data={"loyalty_id": "L-1", "email": "a@example.com"}),
            OutgoingEmail(bot_id="store-basics", user_id="u1", timestamp=at(JUNE_7), step_id="e1",
                          sender="bot@example.com", recipients=["a@example.com"], reply_to=None, subject="Hi",
                          body="Hello"),
            UrlClick(bot_id="store-basics", user_id="u1", timestamp=at(JUNE_7), step_id="m1",
                     domain="example.com", url="https://example.com/a"),
            UrlClick(bot_id="other", user_id="u9", timestamp=at(JUNE_7), domain="evil.example", url="https://x"),
        ])
        db.session.commit()
    assert client.get(f"{BASE}/userDataSnapshot?code={key}").json == [
        {"userId": "u1", "timestamp": "2019-06-07T10:02:14.000000Z", "loyaltyId": "L-1", "email": "a@example.com"}]
    assert client.get(f"{BASE}/outgoingEmail?code={key}").json == [
        {"userId": "u1", "timestamp": "2019-06-07T10:02:14.000000Z", "body": "Hello", "from": "bot@example.com",
         "recipients": ["a@example.com"], "replyTo": None, "stepId": "e1", "subject": "Hi"}]
    assert client.get(f"{BASE}/urlTracker?code={key}").json == [  # other bots' rows are not exported
        {"userId": "u1", "timestamp": "2019-06-07T10:02:14.000000Z", "domain": "example.com",
         "url": "https://example.com/a"}]
    assert client.get(f"{BASE}/outgoingSms?code={key}").json == []


def test_exports_of_tables_other_parts_bring_are_wired_by_name(app, client, key):
    """integrationLog and fuzzyQuestionAnswerLog read tables the integrations and FAQ parts create."""
    for name in ("integrationLog", "fuzzyQuestionAnswerLog"):
        with app.app_context():
            present = sa.inspect(db.engine).has_table(EXPORTS[name].table.name)
        response = client.get(f"{BASE}/{name}?code={key}")
        assert response.status_code == (200 if present else 404)


def test_a_large_export_streams_in_batches(app, client, key):
    with app.app_context():
        db.session.execute(sa.insert(BotUser.__table__), [
            {"bot_id": "store-basics", "user_id": f"u{i:05d}", "data": {"n": i, "even": i % 2 == 0},
             "created_at": at(JUNE_7), "last_message_at": at(JUNE_7 + i), "version_id": 1} for i in range(5000)])
        db.session.commit()
    response = client.get(f"{BASE}/userData?whereEven=true&code={key}", buffered=False)
    chunks = [chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in response.response]
    assert len(chunks) > 2  # not one body built in memory
    rows = json.loads("".join(chunks))
    assert len(rows) == 2500 and rows[0]["userId"] == "u00000" and rows[-1]["n"] == 4998


def test_camel_case():
    assert [camel(n) for n in ("email", "first_name", "FirstName", "_private", "loyalty_card_id", "a__b")] == \
        ["email", "firstName", "firstName", "private", "loyaltyCardId", "aB"]
