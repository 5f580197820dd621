"""The handover part of the management API, called the way contact-centre software calls it, and the outgoing
webhooks that tell such software when a conversation needs a person."""

from __future__ import annotations

import json
import threading

import pytest

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store.models import HandoverSession
from runtime.turns.turn import handle, start_conversation
from runtime.webhooks import subscriptions
from tests.management import make_key

BASE = "/b/help-desk/api/management/handovers"
ALICE = {"agent": {"id": "a-17", "name": "Alice"}}
BOB = {"agent": {"id": "b-3", "name": "Bob"}}


@pytest.fixture
def key(app, bots):
    bots.load("help-desk")
    return make_key(app, "help-desk")


def hand_over(app, user: str = "u1") -> str:
    """A help-desk conversation that asked for a person; its id."""
    with app.app_context():
        conversation, _ = start_conversation("help-desk", user, "webchat")
        handle(conversation.id, Input.message("Eva"))
        handle(conversation.id, Input.message("Talk to a person"))
        return conversation.id


def call(client, key: str, method: str, path: str = "", body=None, **kwargs):
    return client.open(BASE + path, method=method, headers={"x-functions-key": key}, json=body, **kwargs)


def test_software_lists_accepts_reads_replies_and_closes(app, client, key):
    conversation_id = hand_over(app)
    queue = call(client, key, "GET").get_json()["handovers"]
    assert [(h["conversationId"], h["status"], h["queue"], h["agent"]) for h in queue] == [
        (conversation_id, "waiting", "support", None)]
    session = queue[0]["id"]

    accepted = call(client, key, "POST", f"/{session}/accept", ALICE)
    assert accepted.status_code == 200 and accepted.get_json()["agent"] == {"id": "api:a-17", "name": "Alice"}
    with app.app_context():
        handle(conversation_id, Input.message("My parcel is late"))

    seen = call(client, key, "GET", f"/{session}").get_json()
    assert seen["userData"]["name"] == "Eva"
    texts = [a.get("text") for a in seen["transcript"] if a["type"] == "message"]
    assert texts[-3:] == ["Connecting you with a person...", "Alice joined the conversation.", "My parcel is late"]
    last = int(seen["transcript"][-1]["id"].rpartition("|")[2])
    assert call(client, key, "GET", f"/{session}?after={last}").get_json()["transcript"] == []

    sent = call(client, key, "POST", f"/{session}/messages", {**ALICE, "text": "It arrives tomorrow."})
    assert sent.status_code == 201
    assert sent.get_json()["activity"]["from"] == {"id": "agent:api:a-17", "name": "Alice", "role": "bot"}

    closed = call(client, key, "POST", f"/{session}/close", ALICE)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert [a["text"] for a in closed.get_json()["activities"]][:2] == [
        "Alice left the conversation.", "Welcome back, Eva. Anything else?"]
    assert call(client, key, "GET").get_json()["handovers"] == []
    assert [h["id"] for h in call(client, key, "GET", "?status=closed").get_json()["handovers"]] == [session]


def test_conflicts_and_bad_input_get_clear_answers(app, client, key):
    hand_over(app)
    session = call(client, key, "GET").get_json()["handovers"][0]["id"]

    early = call(client, key, "POST", f"/{session}/messages", {**ALICE, "text": "Hi"})
    assert early.status_code == 409 and "Accept the conversation" in early.get_json()["error"]["message"]
    assert call(client, key, "POST", f"/{session}/accept", ALICE).status_code == 200
    taken = call(client, key, "POST", f"/{session}/accept", BOB)
    assert taken.status_code == 409 and taken.get_json()["error"]["message"] == \
        "Alice accepted this conversation already."
    assert call(client, key, "POST", f"/{session}/messages", {**BOB, "text": "Bob here"}).status_code == 409

    for body, expected in ((None, "JSON object"), ({"agent": "Alice"}, "agent is"),
                           ({"agent": {"name": "no id"}}, "agent is"), ({**ALICE, "text": 5}, "text is"),
                           ({**ALICE, "text": "  "}, "Write a message"),
                           ({**ALICE, "text": "a\x00b"}, "NUL characters"),
                           ({"agent": {"id": "a\x00"}, "text": "Hi"}, "NUL characters")):
        answer = call(client, key, "POST", f"/{session}/messages", body)
        assert answer.status_code == 400 and expected in answer.get_json()["error"]["message"], body
    for raw in ("{not json", "[" * 20_000):  # the second nested deeper than Python parses
        assert call(client, key, "POST", f"/{session}/messages", data=raw,
                    content_type="application/json").status_code == 400
    assert call(client, key, "GET", "?status=open").status_code == 400
    assert call(client, key, "GET", f"/{session}?after=x").status_code == 400
    assert call(client, key, "GET", "/nope").status_code == 404

    assert call(client, key, "POST", f"/{session}/close", ALICE).status_code == 200
    late = call(client, key, "POST", f"/{session}/messages", {**ALICE, "text": "One more thing"})
    assert late.status_code == 409 and "closed by Alice" in late.get_json()["error"]["message"]
    assert call(client, key, "POST", f"/{session}/close", ALICE).status_code == 409


def test_a_key_sees_only_its_own_bots_handovers(app, client, key, bots):
    hand_over(app)
    session = call(client, key, "GET").get_json()["handovers"][0]["id"]
    bots.load("store-basics")
    other = make_key(app, "store-basics")
    answer = client.get(f"/b/store-basics/api/management/handovers/{session}", headers={"x-functions-key": other})
    assert answer.status_code == 404
    assert client.get(BASE).status_code == 401


def test_two_programs_accepting_at_once_one_wins(app, key):
    hand_over(app)
    with app.test_client() as first:
        session = call(first, key, "GET").get_json()["handovers"][0]["id"]
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def take(body: dict) -> None:
        with app.test_client() as client:
            barrier.wait()
            answers.append(call(client, key, "POST", f"/{session}/accept", body).status_code)

    threads = [threading.Thread(target=take, args=(body,)) for body in (ALICE, BOB)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409]


def test_the_outgoing_webhooks_announce_each_handover_step_in_order(app, client, key, jobs, receiver):
    with app.app_context():
        subscriptions.create("help-desk", receiver.url, ["handover", "handover.accepted", "handover.closed",
                                                          "message.received"])
    conversation_id = hand_over(app)
    session = call(client, key, "GET").get_json()["handovers"][0]["id"]
    call(client, key, "POST", f"/{session}/accept", ALICE)
    with app.app_context():
        handle(conversation_id, Input.message("Hello?"))
    call(client, key, "POST", f"/{session}/close", ALICE)
    jobs.drain()
    bodies = [body for _, _, body in receiver.requests]
    assert [b["type"] for b in bodies] == ["message.received", "message.received", "handover", "handover.accepted",
                                           "message.received", "handover.closed"]
    handover = bodies[2]["data"]
    assert (handover["conversationId"], handover["handover"]["session"], handover["handover"]["queue"]) == (
        conversation_id, session, "support")
    assert bodies[3]["data"]["handover"]["agent"] == {"id": "api:a-17", "name": "Alice"}
    assert json.dumps(bodies).count(key) == 0


def test_software_lists_only_the_queues_it_serves(app, client, key):
    for user in ("u1", "u2", "u3"):
        hand_over(app, user)
    ids = [h["id"] for h in call(client, key, "GET").get_json()["handovers"]]
    with app.app_context():  # the help desk hands over to "support"; two of them went elsewhere
        db.session.get(HandoverSession, ids[1]).queue = "billing"
        db.session.get(HandoverSession, ids[2]).queue = None
        db.session.commit()
        db.session.remove()

    def listed(queue: str) -> list[str]:
        answer = call(client, key, "GET", query_string={"queue": queue})
        assert answer.status_code == 200, answer.get_json()
        return [h["id"] for h in answer.get_json()["handovers"]]

    assert listed("billing") == [ids[1]]
    assert listed("-") == [ids[2]]
    assert listed("support, -") == [ids[0], ids[2]]
    assert listed("nobody") == []
    for blank in ("", ","):
        refused = call(client, key, "GET", query_string={"queue": blank})
        assert refused.status_code == 400 and "queue is a comma" in refused.get_json()["error"]["message"]
