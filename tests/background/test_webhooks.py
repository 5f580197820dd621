"""Outgoing webhooks on real Redis and a real receiver: handshake, signing, filters, order, retry rules."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug import Response

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store.bots import import_bot
from runtime.turns.turn import handle, start_conversation
from runtime.webhooks import delivery, signing, subscriptions
from runtime.webhooks.models import WebhookDelivery

BOT = {"format": 1, "id": "hooked", "name": "Hooked", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [
        {"id": "q", "type": "question", "text": "Your name?", "storage": "name"},
        {"id": "m", "type": "message", "text": "Hi {{ name }}!"},
        {"id": "e", "type": "event", "name": "close-chat", "value": {"who": "{{ name }}"}},
        {"id": "x", "type": "end"}]}]}


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


@pytest.fixture
def bot(app):
    with app.app_context():
        import_bot(BOT, publish=True)


def subscribe(app, receiver, events=("message.received", "message.sent", "event", "conversation.closed")):
    with app.app_context():
        return subscriptions.create("hooked", receiver.url, list(events))


def chat(app, name="Eva") -> str:
    with app.app_context():
        conversation, _ = start_conversation("hooked", "u1", "webchat")  # not "test": that channel announces nothing
        handle(conversation.id, Input.message(name))
        return conversation.id


def log(app, made) -> list[dict]:
    with app.app_context():
        return delivery.log_of("hooked", made.subscription["id"], limit=100)


def test_the_handshake_activates_and_every_delivery_is_signed(app, bot, jobs, receiver):
    made = subscribe(app, receiver)
    assert made.subscription["status"] == "active" and made.secret.startswith("whsec_")
    conversation_id = chat(app)
    jobs.drain()
    assert receiver.events == ["message.sent", "message.received", "message.sent", "event", "conversation.closed"]
    for headers, raw, body in receiver.requests:
        assert signing.verify(made.secret, {k.lower(): v for k, v in headers.items()}, raw)
        assert body["data"]["conversationId"] == conversation_id
    assert receiver.requests[1][2]["data"]["activity"]["text"] == "Eva"
    assert receiver.requests[3][2]["data"]["name"] == "close-chat"
    assert {d["status"] for d in log(app, made)} == {"delivered"}
    with app.app_context():  # shown once: never in what the API or the designer read
        assert made.secret not in json.dumps(subscriptions.list_for("hooked"))


def test_an_event_filter_picks_what_is_sent(app, bot, jobs, receiver):
    subscribe(app, receiver, ["event:close-chat"])
    chat(app)
    jobs.drain()
    assert receiver.events == ["event"]


@pytest.mark.parametrize("handshake, reason", [("wrong", "did not echo the challenge"), (500, "answered 500")])
def test_a_failed_handshake_leaves_it_unverified_until_verified_again(app, bot, jobs, receiver, handshake, reason):
    receiver.handshake = handshake
    made = subscribe(app, receiver)
    assert made.subscription["status"] == "unverified" and reason in made.subscription["statusReason"]
    chat(app)
    jobs.drain()
    assert receiver.requests == []
    receiver.handshake = "echo"
    with app.app_context():
        assert subscriptions.verify("hooked", made.subscription["id"])["status"] == "active"


def test_a_receiver_redirecting_to_a_private_address_is_not_followed(app, bot, jobs, receiver):
    receiver.handshake = "echo"
    made = subscribe(app, receiver)
    receiver.answers = [(302, {"Location": "http://169.254.169.254/latest/meta-data/"})]
    chat(app)
    jobs.drain()
    first = log(app, made)[-1]
    assert first["status"] == "failed" and "redirects are not followed" in first["lastError"]
    assert len(first["attempts"]) == 1  # not retried: a configuration to fix


@pytest.mark.parametrize("app_config", [{}])  # no allow-list
@pytest.mark.parametrize("url, kind", [
    ("http://169.254.169.254/latest/meta-data/", "a link-local (cloud metadata)"),
    ("http://10.0.0.5/hook", "a private"),
    ("http://127.0.0.1:9/hook", "a loopback")])
def test_an_address_on_our_own_network_is_refused(app, bot, url, kind):
    with app.app_context(), pytest.raises(subscriptions.SubscriptionError,
                                          match=re.escape(f"{kind} address") + ".*OUTBOUND_ALLOW_HOSTS"):
        subscriptions.create("hooked", url, ["message.sent"])


class TestAHostThatMovesToOurNetwork:
    """A host name that passed the check when subscribed, then resolves to a private address (DNS rebinding):
    the guarded session checks each connection after DNS, so the delivery is refused and the reason recorded."""

    DNS: dict[str, str] = {}

    @staticmethod
    def resolve(host, port, *args):
        if host in TestAHostThatMovesToOurNetwork.DNS:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (TestAHostThatMovesToOurNetwork.DNS[host], port))]
        return socket.getaddrinfo(host, port, *args)

    @pytest.fixture
    def app_config(self):
        self.DNS["hooks.example.test"] = "127.0.0.1"
        yield {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1", "INTEGRATIONS_RESOLVER": self.resolve}
        self.DNS.clear()

    def test_the_delivery_is_refused_with_the_reason(self, app, bot, jobs, receiver):
        url = receiver.url.replace("127.0.0.1", "hooks.example.test")
        with app.app_context():
            made = subscriptions.create("hooked", url, ["message.received"])
        assert made.subscription["status"] == "active"  # allowed: loopback is on the allow-list
        self.DNS["hooks.example.test"] = "10.0.0.5"
        chat(app)
        jobs.drain()
        entry, = log(app, made)
        error = entry["attempts"][0]["error"]
        assert entry["attempts"][0]["status"] is None and receiver.requests == []
        assert "hooks.example.test (10.0.0.5): a private address" in error and "OUTBOUND_ALLOW_HOSTS" in error


def test_a_failing_receiver_is_retried_four_times_over_the_hour_with_the_same_webhook_id(app, bot, jobs, receiver):
    made = subscribe(app, receiver, ["message.received"])
    receiver.answers = [(500, {})] * 5
    chat(app)
    jobs.drain()
    delays = []
    for _ in range(4):
        (_, when), = jobs.scheduled()
        attempted = datetime.fromisoformat(log(app, made)[0]["attempts"][-1]["at"])
        delays.append((when - attempted).total_seconds())
        jobs.drain(until=when + timedelta(seconds=1))
    assert len(receiver.requests) == 5 and len(set(receiver.ids)) == 1
    for delay, nominal in zip(delays, (60, 300, 900, 2340), strict=True):
        assert nominal * 0.85 < delay < nominal * 1.1  # jittered
    assert jobs.scheduled() == []
    entry, = log(app, made)
    assert entry["status"] == "failed" and [a["status"] for a in entry["attempts"]] == [500] * 5
    with app.app_context():
        assert subscriptions.get("hooked", made.subscription["id"])["consecutiveFailures"] == 1


@pytest.mark.parametrize("status, retried", [(400, False), (404, False), (408, True), (429, True), (503, True)])
def test_which_answers_are_retried(app, bot, jobs, receiver, status, retried):
    made = subscribe(app, receiver, ["message.received"])
    receiver.answers = [(status, {})]
    chat(app)
    jobs.drain()
    assert bool(jobs.scheduled()) is retried
    jobs.drain(until=later(2))
    assert [d["status"] for d in log(app, made)] == ["delivered" if retried else "failed"]


def test_retry_after_is_honoured(app, bot, jobs, receiver):
    subscribe(app, receiver, ["message.received"])
    receiver.answers = [(429, {"Retry-After": "1200"})]
    chat(app)
    jobs.drain()
    (_, when), = jobs.scheduled()
    assert (when - datetime.now(UTC)).total_seconds() > 1100
    assert jobs.drain(until=later(10)) == 0
    jobs.drain(until=later(21))
    assert len(receiver.requests) == 2


def test_410_gone_switches_the_subscription_off_at_once(app, bot, jobs, receiver):
    made = subscribe(app, receiver)
    receiver.answers = [(410, {})]
    chat(app)
    jobs.drain()
    assert len(receiver.requests) == 1
    with app.app_context():
        shown = subscriptions.get("hooked", made.subscription["id"])
    assert shown["status"] == "inactive" and "410" in shown["statusReason"]
    assert {d["status"] for d in log(app, made)} == {"failed"}  # the rest visibly not sent


def test_five_failed_deliveries_in_a_row_switch_it_off_and_a_handshake_brings_it_back(app, bot, jobs, receiver):
    made = subscribe(app, receiver, ["message.received"])
    receiver.answers = [(400, {})] * 5
    for i in range(5):
        chat(app, f"user {i}")
    jobs.drain()
    with app.app_context():
        assert subscriptions.get("hooked", made.subscription["id"])["status"] == "inactive"
    chat(app, "while inactive")
    jobs.drain()
    assert len(receiver.requests) == 5
    with app.app_context():
        assert subscriptions.verify("hooked", made.subscription["id"])["status"] == "active"
        failed = log(app, made)[-1]
        delivery.redeliver("hooked", failed["id"])
    jobs.drain()
    assert receiver.ids[-1] == failed["webhookId"] and receiver.requests[-1][2]["data"]["activity"]["text"] == "user 0"


def test_a_conversations_deliveries_keep_their_order_while_one_is_retried(app, bot, jobs, receiver):
    subscribe(app, receiver)
    receiver.answers = [(503, {})]
    chat(app)
    jobs.drain()
    assert receiver.events == ["message.sent"]  # the rest wait behind the first
    jobs.drain(until=later(2))
    assert receiver.events == ["message.sent", "message.sent", "message.received", "message.sent", "event",
                               "conversation.closed"]


def test_a_rotated_secret_signs_beside_the_old_one(app, bot, jobs, receiver):
    made = subscribe(app, receiver, ["message.received"])
    with app.app_context():
        new = subscriptions.rotate_secret("hooked", made.subscription["id"], keep_old_hours=1)
    chat(app)
    jobs.drain()
    headers, raw, _ = receiver.requests[0]
    headers = {k.lower(): v for k, v in headers.items()}
    assert len(headers["webhook-signature"].split()) == 2
    assert signing.verify(new, headers, raw) and signing.verify(made.secret, headers, raw)


def test_a_receiver_answering_after_six_seconds_has_failed(app, bot, jobs, receiver):
    import time

    def slow():
        time.sleep(6)  # the receiver's behaviour under test, not a wait of the test
        return Response("", status=200)

    made = subscribe(app, receiver, ["message.received"])
    receiver.answers = [slow]
    chat(app)
    jobs.drain()
    entry, = log(app, made)
    assert entry["status"] == "pending" and "within the timeout (5 s)" in entry["attempts"][0]["error"]
    jobs.drain(until=later(2))
    assert [d["status"] for d in log(app, made)] == ["delivered"]


def test_deliveries_saved_while_redis_is_away_are_sent_by_the_sweeper(app, bot, jobs, receiver, tmp_path):
    from app import create_app

    subscribe(app, receiver, ["message.received"])
    away = create_app({**app.config, "REDIS_URL": "redis://127.0.0.1:9/0", "AUTO_MIGRATE": False})
    conversation_id = chat(away)  # the turn works; its delivery is saved, not queued
    with app.app_context():
        row = db.session.query(WebhookDelivery).one()
        assert row.conversation_id == conversation_id and row.status == "pending"
        row.next_attempt_at -= timedelta(minutes=5)  # overdue, as after minutes without Redis
        db.session.commit()
        assert delivery.sweep() == 1
    jobs.drain()
    assert receiver.events == ["message.received"]


def test_a_subscription_made_in_one_process_gets_the_turns_of_the_others_at_once(app, bot, jobs, receiver):
    """Another web process or worker (an app of its own on the same database and Redis) had read the bot's
    subscriptions, none, just before: its next turn, within the cache's seconds, is delivered all the same."""
    from app import create_app

    other = create_app({**app.config, "AUTO_MIGRATE": False})
    try:
        chat(other)  # the other process has looked: no subscription yet
        subscribe(app, receiver, ["message.received"])
        conversation_id = chat(other, "Olga")
        jobs.drain()
        assert [(body["data"]["conversationId"], body["data"]["activity"]["text"])
                for _, _, body in receiver.requests] == [(conversation_id, "Olga")]
    finally:
        with other.app_context():
            db.engine.dispose()
