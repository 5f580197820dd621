"""The webhook channel for messaging platforms, driven as a platform does: inbound POSTs with the verification
token, the replies received by a real local server (which fails on demand), the retries on the test clock."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from platform_samples import BOT, event, message, postback, status
from sqlalchemy import func, select

from runtime.channels.platforms import connections
from runtime.extensions import db
from runtime.store.bots import import_bot
from runtime.store.models import Conversation, TranscriptEntry
from runtime.turns.transcript import transcript
from runtime.webhooks import delivery

HOOK = "/b/pbot/hooks/acme"
OUT_TOKEN = "platform-side-secret-1"


@pytest.fixture
def token(app, receiver):
    """A connection of the test bot to a platform whose outbound address is the receiver; its inbound token."""
    with app.app_context():
        import_bot(BOT, publish=True)
        made = connections.create("pbot", "acme", "Acme CX", receiver.url,
                                  credentials={"kind": "bearer", "token": OUT_TOKEN})
    return made.token


def post(client, body, token, *, header: str = "bearer"):
    headers = {"Authorization": f"Bearer {token}"} if header == "bearer" else {"X-Verification-Token": token}
    return client.post(HOOK, json=body, headers=headers)


def texts(receiver) -> list[str]:
    return [body["text"] for _, _, body in receiver.requests]


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_a_message_opens_a_conversation_whose_replies_go_to_the_platform(client, token, jobs, receiver):
    answer = post(client, message("Tea", "wamid.1"), token)
    assert answer.status_code == 200
    conversation_id = answer.json["conversationId"]
    jobs.drain()
    # The start dialog runs, then the user's first message is its first input (DESIGN §5).
    assert texts(receiver) == ["Welcome to Acme.", "Tea or coffee?", "One tea coming.", "Welcome to Acme.",
                               "Tea or coffee?"]
    headers, _, body = receiver.requests[1]
    assert headers["Authorization"] == f"Bearer {OUT_TOKEN}"
    assert body["conversationId"] == conversation_id
    assert {k: body[k] for k in ("service", "channel", "assetId", "userId")} == {
        "service": "acme-cx", "channel": "WHATSAPP", "assetId": "+442000000001", "userId": "+447700900001"}
    assert body["buttons"] == [{"title": "Tea", "payload": "Tea"}, {"title": "Coffee", "payload": "Coffee"},
                               {"title": "Bye", "payload": "Bye"}]
    assert body["messageId"] == f"{conversation_id}|0000003" and body["from"]["role"] == "bot"


def test_one_conversation_per_asset_user_and_service_until_the_bot_ends_it(client, token, jobs):
    first = post(client, message("Tea", "m1"), token).json["conversationId"]
    assert post(client, message("Coffee", "m2"), token).json["conversationId"] == first
    others = {post(client, message("Tea", f"o{i}", **who), token).json["conversationId"]
              for i, who in enumerate([{"service": "other-cx"}, {"assetId": "+442000000002"},
                                       {"userId": "+447700900002"}])}
    assert len(others) == 3 and first not in others
    assert post(client, message("Bye", "m3"), token).json["conversationId"] == first  # the bot ends it here
    again = post(client, message("Tea", "m4"), token).json["conversationId"]
    assert again != first
    assert post(client, message("Coffee", "m5"), token).json["conversationId"] == again
    # A platform channel (WHATSAPP, SMS) does not part the conversation: the asset, user and service do.
    assert post(client, message("Tea", "m6", channel="SMS"), token).json["conversationId"] == again


def test_a_postback_is_applied_as_the_buttons_value_and_a_custom_event_starts_its_trigger(client, token, jobs,
                                                                                          receiver):
    post(client, message("hello", "m1"), token)
    assert post(client, postback("Coffee", "Coffee"), token).status_code == 200
    assert post(client, event("order-shipped", {"order": "A-17"}), token).status_code == 200
    jobs.drain()
    said = texts(receiver)
    assert "One coffee coming." in said and said[-1] == "Order A-17 shipped."


def test_replies_go_out_in_order_even_when_the_first_is_retried(app, client, token, jobs, receiver):
    receiver.answers = [(503, {})]
    post(client, message("Tea", "m1"), token)
    jobs.drain()
    assert texts(receiver) == ["Welcome to Acme."]  # the rest waits behind its retry
    post(client, message("Coffee", "m2"), token)
    jobs.drain()
    assert texts(receiver) == ["Welcome to Acme."]
    jobs.drain(until=later(2))
    assert texts(receiver) == ["Welcome to Acme.", "Welcome to Acme.", "Tea or coffee?", "One tea coming.",
                               "Welcome to Acme.", "Tea or coffee?", "One coffee coming.", "Welcome to Acme.",
                               "Tea or coffee?"]
    ids = [body["messageId"] for _, _, body in receiver.requests[1:]]
    assert ids == sorted(ids)


def test_a_platform_that_keeps_failing_switches_the_connection_off_until_it_is_reverified(app, client, token, jobs,
                                                                                          receiver):
    receiver.answers = [(500, {})] * 5 + [(400, {})] * 4  # 1 + 4 retries over an hour, then four plain failures
    post(client, message("Tea", "m1"), token)
    jobs.drain()
    for minutes in (2, 7, 23, 66):
        jobs.drain(until=later(minutes))
    with app.app_context():
        shown = connections.get("pbot", "acme")
        log = delivery.deliveries_of(shown["targetId"], limit=20)
    assert len(log[-1]["attempts"]) == 5 and log[-1]["status"] == "failed"  # 5 s timeout, 4 retries
    assert shown["status"] == "inactive" and "5 deliveries in a row failed" in shown["statusReason"]
    assert {entry["status"] for entry in log} == {"failed"}
    sent = len(receiver.requests)
    post(client, message("Coffee", "m2"), token)  # accepted, its replies held while the connection is off
    jobs.drain(until=later(120))
    assert len(receiver.requests) == sent
    with app.app_context():
        assert connections.reverify("pbot", "acme")["status"] == "active"
    jobs.drain()
    assert texts(receiver)[sent:] == ["One coffee coming.", "Welcome to Acme.", "Tea or coffee?"]  # owed, in order
    post(client, message("Tea", "m3"), token)
    jobs.drain()
    assert texts(receiver)[sent + 3:] == ["One tea coming.", "Welcome to Acme.", "Tea or coffee?"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-Verification-Token": "wrong"},
                                     {"Authorization": "Basic d3Jvbmc6d3Jvbmc="}])
def test_a_missing_or_wrong_token_is_401_and_nothing_is_stored(app, client, token, headers):
    answer = client.post(HOOK, json=message("Tea", "m1"), headers=headers)
    assert answer.status_code == 401 and "verification token" in answer.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_the_token_is_taken_from_either_header_and_a_new_one_replaces_it(app, client, token):
    assert post(client, message("Tea", "m1"), token, header="x-token").status_code == 200
    with app.app_context():
        fresh = connections.regenerate_token("pbot", "acme")
    assert post(client, message("Tea", "m2"), token).status_code == 401
    assert post(client, message("Tea", "m3"), fresh).status_code == 200


def test_the_same_message_delivered_twice_is_applied_once(app, client, token, jobs, receiver):
    first = post(client, message("Tea", "m1"), token).json["conversationId"]
    assert post(client, message("Tea", "m1"), token).json["conversationId"] == first  # the opening message
    post(client, message("Coffee", "m2"), token)
    post(client, message("Coffee", "m2"), token)  # a later one
    with app.app_context():
        said = [row["text"] for row in transcript(first) if row["from"]["role"] == "user"]
    assert said == ["Tea", "Coffee"]
    jobs.drain()
    assert texts(receiver).count("One coffee coming.") == 1


@pytest.mark.parametrize("body, says", [
    (b"{not json", "not JSON"),
    (json.dumps(["a list"]).encode(), "not of type 'object'"),
    (json.dumps(message("Tea", "m1", userId=42)).encode(), '"userId": 42 is not of type'),
    (json.dumps({**message("Tea", "m1"), "type": "typing"}).encode(), '"type" must be one of'),
    (json.dumps({k: v for k, v in message("Tea", "m1").items() if k != "assetId"}).encode(), "lacks 'assetId'"),
    (json.dumps({**message("x", "m1"), "text": "x" * 70_000}).encode(), "larger than 65536 bytes"),
    (json.dumps(status("abc|0000001", "Seen")).encode(), "Delivered, Failed, Read"),
    (json.dumps(message("Tea\x00", "m1")).encode(), "NUL characters"),
    (json.dumps(event("order", {"note\x00": "x"})).encode(), "NUL characters"),
    (b"[" * 20_000, "not JSON"),  # nested deeper than Python parses
])
def test_a_malformed_body_is_400_saying_what_to_change(app, client, token, body, says):
    answer = client.post(HOOK, data=body, headers={"Authorization": f"Bearer {token}",
                                                   "Content-Type": "application/json"})
    assert answer.status_code == 400 and says in answer.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def _delivery(app, message_id: str) -> dict | None:
    conversation_id, _, seq = message_id.partition("|")
    with app.app_context():
        row = db.session.scalars(select(TranscriptEntry).where(TranscriptEntry.conversation_id == conversation_id,
                                                               TranscriptEntry.seq == int(seq))).one()
        return (row.activity.get("channelData") or {}).get("delivery")


def test_statuses_are_kept_on_the_transcript_and_only_move_forward(app, client, token, jobs, receiver):
    conversation_id = post(client, message("Tea", "m1"), token).json["conversationId"]
    jobs.drain()
    first, second = receiver.requests[0][2]["messageId"], receiver.requests[1][2]["messageId"]
    assert _delivery(app, first)["status"] == "sent"  # the platform accepted it
    assert post(client, status(first, "Read"), token).json == {"applied": True}
    assert post(client, status(first, "Delivered"), token).json == {"applied": False}  # late: read stays
    assert post(client, status(first, "Failed", "expired"), token).json == {"applied": False}
    assert _delivery(app, first)["status"] == "read"
    post(client, status(second, "Failed", "The user blocked the business"), token)
    assert _delivery(app, second) == {**_delivery(app, second), "status": "failed",
                                      "description": "The user blocked the business"}
    post(client, status(second, "Delivered"), token)  # the platform got it through after all
    assert _delivery(app, second)["status"] == "delivered"
    with app.app_context():  # what the designer's transcript and the API read
        shown = transcript(conversation_id)
    assert shown[1]["channelData"]["delivery"]["status"] == "read"


@pytest.mark.parametrize("message_id", ["nonsense", "0123456789abcdef0123456789abcdef|0000001", "x|9"])
def test_a_status_for_an_unknown_message_is_answered_and_ignored(app, client, token, jobs, message_id, caplog):
    caplog.set_level("INFO", logger="runtime.channels.platforms.statuses")
    conversation_id = post(client, message("Tea", "m1"), token).json["conversationId"]
    later_id = f"{conversation_id}|0000099"  # a message not sent (yet)
    for unknown in (message_id, later_id):
        answer = post(client, status(unknown, "Delivered"), token)
        assert answer.status_code == 200 and answer.json == {"applied": False}
    assert f"unknown message {later_id}" in caplog.text
    assert "not a message id of ours" in caplog.text or f"unknown message {message_id}" in caplog.text


def test_a_status_of_another_bots_message_is_not_applied(app, client, token, receiver, jobs):
    with app.app_context():
        import_bot({**BOT, "id": "other"}, publish=True)
        other = connections.create("other", "acme", "Other", receiver.url)
    conversation_id = client.post("/b/other/hooks/acme", json=message("Tea", "m1"),
                                  headers={"Authorization": f"Bearer {other.token}"}).json["conversationId"]
    assert post(client, status(f"{conversation_id}|0000002", "Read"), token).json == {"applied": False}
    assert client.post("/b/other/hooks/acme", json=message("Tea", "m2"),  # each connection its own token
                       headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_command_line_connects_a_bot_and_prints_the_token_once(app, runner, receiver, client):
    with app.app_context():
        import_bot(BOT, publish=True)
    made = runner.invoke(args=["platforms", "create", "pbot", "sms", "Acme SMS", receiver.url, "--rule", "agent",
                               "--basic", "acme:pa55word"])
    assert made.exit_code == 0, made.output
    shown = json.loads(made.output)
    assert shown["rule"] == "agent" and shown["credentials"] == "basic" and "pa55word" not in made.output
    listed = runner.invoke(args=["platforms", "list", "pbot"])
    assert shown["verificationToken"] not in listed.output and "pa55word" not in listed.output
    assert client.post("/b/pbot/hooks/sms", json=message("Hi", "c1"),
                       headers={"Authorization": f"Bearer {shown['verificationToken']}"}).status_code == 200
    bad = runner.invoke(args=["platforms", "create", "pbot", "sms", "Again", receiver.url])
    assert bad.exit_code == 1 and "has a connection 'sms' already" in bad.output


def test_the_same_opening_message_posted_twice_at_once_opens_one_conversation(app, token):
    """Two deliveries of a user's first message racing: one conversation, the message in it once."""
    start = threading.Barrier(2)
    answers: list = []

    def deliver() -> None:
        start.wait()
        answers.append(post(app.test_client(), message("Tea", "dup-1"), token))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [200, 200]
    assert len({answer.json["conversationId"] for answer in answers}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert db.session.scalar(select(func.count()).select_from(TranscriptEntry).where(
            TranscriptEntry.direction == "in")) == 1
