"""The trigger API: the loyalty-transfer story over Direct Line, addresses in every base64 form, clear mode,
Idempotency-Key, and every bad input the issue lists."""

from __future__ import annotations

import base64
import json
import threading

import pytest
from directline_client import Chat, secret_of, texts
from management import address, make_key
from sqlalchemy import func, select

from runtime.extensions import db
from runtime.management.trigger import address_of
from runtime.store.models import BotUser, Conversation, TranscriptEntry

TRANSACTION = {"transaction": {"id": "T-1001", "points": 500, "partner": "SkyMiles"}}
DONE = "Transfer T-1001 is complete: 500 points went to SkyMiles."


@pytest.fixture
def key(app, bots):
    bots.load("loyalty")
    return make_key(app, "loyalty", "crm")


@pytest.fixture
def chat(app, client, key):
    """Eva's open webchat, where she asked for a transfer."""
    chat = Chat.generate(client, secret_of(app, "loyalty"), {"user": {"id": "dl_eva"}})
    assert texts(chat.poll()) == ["Hi! Move your points to a partner?"]
    assert texts(chat.say("Yes")) == ["Your transfer has started. I will tell you when it is done.",
                                      "Anything else I can do?"]
    return chat


def trigger(client, key, where: str, dialog: str = "transfer-complete", *, suffix: str = "", **kwargs):
    return client.post(f"/b/loyalty/api/management/trigger/{where}/{dialog}{suffix}?code={key}", **kwargs)


def test_the_loyalty_transfer_story(app, client, key, chat):
    """The customer's system finishes the transfer and calls the trigger with the transaction: Eva sees it."""
    response = trigger(client, key, address("loyalty", "dl_eva"), json=TRANSACTION)
    assert response.status_code == 202
    assert response.json == {"conversationId": chat.conversation_id, "dialogId": "transfer-complete", "clear": False}
    # The confirmation, then the question she was at is asked again (the dialog was called, not jumped to).
    assert texts(chat.poll()) == [DONE, "Anything else I can do?"]
    assert texts(chat.say("No, thanks")) == ["Noted: No, thanks."]
    with app.app_context():
        assert db.session.get(BotUser, ("loyalty", "dl_eva")).data["transaction"] == TRANSACTION["transaction"]


def test_clear_drops_the_place_in_the_tree(client, key, chat):
    assert trigger(client, key, address("loyalty", "dl_eva"), suffix="/clear", json=TRANSACTION).status_code == 202
    assert texts(chat.poll()) == [DONE]  # nothing asked again: the conversation ended with the dialog
    assert texts(chat.say("hello"))[0] == "Hi! Move your points to a partner?"  # a new start


def test_addresses_in_every_base64_form(app, client, key, chat):
    forms = [address("loyalty", "dl_eva"), address("loyalty", "dl_eva", padded=False),
             address("loyalty", "dl_eva", urlsafe=True), address("loyalty", "dl_eva", urlsafe=True, padded=False),
             address("loyalty", "dl_eva", "directline", chat.conversation_id)]
    with app.app_context():
        forms.append(address_of(db.session.get(Conversation, chat.conversation_id)))  # what the designer shows
    plain = base64.b64encode(json.dumps({"bot": "loyalty", "user": "dl_eva", "channelId": "webchat"}).encode())
    forms.append(plain.decode())  # ids as plain strings
    for form in forms:
        assert trigger(client, key, form, json=TRANSACTION).status_code == 202, form
    assert texts(chat.poll()).count(DONE) == len(forms)


def test_standard_base64_with_slashes_and_pluses(app, client, key):
    """Standard base64 may hold '/' and '+': such an address still reaches its user."""
    user = "dl_x?yy>"  # "?" and ">" where base64 spells them "/" and "+"
    assert "/" in address("loyalty", user) and "+" in address("loyalty", user)
    chat = Chat.generate(client, secret_of(app, "loyalty"), {"user": {"id": user}})
    chat.poll()
    assert trigger(client, key, address("loyalty", user), json=TRANSACTION).status_code == 202
    assert DONE in texts(chat.poll())


def test_an_idempotency_key_runs_the_dialog_once(app, client, key, chat):
    headers = {"Idempotency-Key": "transfer-T-1001"}
    first = trigger(client, key, address("loyalty", "dl_eva"), json=TRANSACTION, headers=headers)
    again = trigger(client, key, address("loyalty", "dl_eva"), json=TRANSACTION, headers=headers)
    assert first.status_code == again.status_code == 202 and first.json == again.json
    assert texts(chat.poll()) == [DONE, "Anything else I can do?"]

    other_body = trigger(client, key, address("loyalty", "dl_eva"), json={"transaction": {"id": "T-2"}},
                         headers=headers)
    assert other_body.status_code == 422 and "used before for another call" in other_body.json["error"]["message"]
    other_mode = trigger(client, key, address("loyalty", "dl_eva"), suffix="/clear", json=TRANSACTION,
                         headers=headers)
    assert other_mode.status_code == 422
    assert chat.poll() == []
    with app.app_context():
        assert db.session.get(BotUser, ("loyalty", "dl_eva")).data["transaction"]["id"] == "T-1001"


def test_the_same_trigger_posted_twice_at_once_is_applied_once(app, client, key, chat):
    threads, start, answers = 8, threading.Barrier(8), []

    def post() -> None:
        start.wait()
        response = trigger(app.test_client(), key, address("loyalty", "dl_eva"), json=TRANSACTION,
                           headers={"Idempotency-Key": "at-once"})
        answers.append((response.status_code, response.json))

    workers = [threading.Thread(target=post) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [status for status, _ in answers] == [202] * threads
    assert texts(chat.poll()) == [DONE, "Anything else I can do?"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TranscriptEntry).where(
            TranscriptEntry.client_key == "trigger:at-once")) == 1


def test_messages_wait_for_a_closed_page(app, client, key, chat):
    """Triggered while the page was closed: the reloaded page finds the messages (after its watermark)."""
    assert trigger(client, key, address("loyalty", "dl_eva"), json=TRANSACTION).status_code == 202
    reopened = client.get(f"/v3/directline/conversations/{chat.conversation_id}?watermark={chat.watermark}",
                          headers={"Authorization": f"Bearer {chat.token}"})
    assert reopened.status_code == 200
    chat.token = reopened.json["token"]
    assert texts(chat.poll()) == [DONE, "Anything else I can do?"]


@pytest.mark.parametrize("where, status, says", [
    ("%%%not-base64%%%", 400, "The address is not base64"),
    ("bm90IGpzb24gYXQgYWxs", 400, "base64, but not of JSON"),  # "not json at all"
    (base64.b64encode(b'["a list"]').decode(), 400, "must be a JSON object"),
    (base64.b64encode(b'{"bot": "loyalty", "channelId": "webchat"}').decode(), 400, 'The address has no "user"'),
    (base64.b64encode(b'{"bot": "loyalty", "user": 5, "channelId": "webchat"}').decode(), 400, '"user" must be'),
    (address("other-bot", "dl_eva"), 400, "The address is of bot 'other-bot'"),
    (address("loyalty", "dl_nobody", "sms"), 404, "has no user 'dl_nobody'"),
    (address("loyalty", "dl_nobody", "platform"), 404, "Arbor can write first only to an SMS or WhatsApp number"),
    (address("loyalty", "dl_eva", "sms"), 404, "has no conversation on the channel 'sms'"),
    (address("loyalty", "dl_eva", conversation="c0ffee"), 404, "has no conversation 'c0ffee' on the channel 'webchat'"),
])
def test_bad_addresses(client, key, chat, where, status, says):
    response = trigger(client, key, where, json=TRANSACTION)
    assert response.status_code == status, response.json
    assert says in response.json["error"]["message"]
    assert chat.poll() == []  # nothing half-applied


@pytest.mark.parametrize("body, status, says", [
    ({"data": b"{not json"}, 400, "must be a JSON object"),
    ({"json": ["a", "list"]}, 400, "must be a JSON object"),
    ({"data": b"x" * (10 * 1024 * 1024), "content_type": "application/json"}, 413, "The body is over"),
])
def test_bad_bodies(app, client, key, chat, body, status, says):
    response = trigger(client, key, address("loyalty", "dl_eva"), **body)
    assert response.status_code == status and says in response.json["error"]["message"]
    assert chat.poll() == []
    with app.app_context():
        assert "transaction" not in db.session.get(BotUser, ("loyalty", "dl_eva")).data


def test_an_unknown_dialog_is_a_404_listing_the_dialogs(client, key, chat):
    response = trigger(client, key, address("loyalty", "dl_eva"), "transfer-done", json=TRANSACTION)
    assert response.status_code == 404
    assert response.json["error"]["message"] == ("Bot 'loyalty' has no dialog 'transfer-done'; its dialogs are: "
                                                 "transfer-complete, welcome.")
    assert chat.poll() == []


def test_no_key_no_trigger(client, key, chat):
    response = client.post(f"/b/loyalty/api/management/trigger/{address('loyalty', 'dl_eva')}/transfer-complete")
    assert response.status_code == 401
    assert chat.poll() == []


def test_an_empty_body_saves_nothing(client, key, chat):
    assert trigger(client, key, address("loyalty", "dl_eva")).status_code == 202
    assert texts(chat.poll())[0] == "Transfer  is complete:  points went to ."


@pytest.mark.parametrize("where", [address("loyalty", "dl_eva"), address("loyalty", "dl_x?yy>")])
def test_an_unsupported_mode_is_a_400_naming_the_modes(app, client, key, chat, where):
    """Also for an address in standard base64 holding '/' (split where the address decodes)."""
    response = trigger(client, key, where, suffix="/later", json=TRANSACTION)
    assert response.status_code == 400
    assert response.json["error"] == {"code": "BadRequest", "message": (
        "'later' is not a trigger mode; the modes are: clear (or none: .../trigger/<address>/<dialogId>).")}
    assert chat.poll() == []


def test_every_error_uses_one_code_scheme_the_http_status_name(client, key, chat):
    """The API book names no error codes; the management API's code is the HTTP status's name throughout (a
    body that is not JSON was a Direct Line `BadArgument` here, while the address's errors were `BadRequest`)."""
    where = address("loyalty", "dl_eva")
    answers = [trigger(client, key, where, data=b"{not json", content_type="application/json"),
               trigger(client, key, "%%%", json=TRANSACTION),
               trigger(client, key, where, suffix="/later"),
               trigger(client, key, where, "nope"),
               client.post(f"/b/loyalty/api/management/trigger/{where}/transfer-complete?code=wrong"),
               trigger(client, key, where, data=b"x" * (2 * 1024 * 1024), content_type="application/json")]
    assert [(a.status_code, a.json["error"]["code"]) for a in answers] == [
        (400, "BadRequest"), (400, "BadRequest"), (400, "BadRequest"), (404, "NotFound"), (401, "Unauthorized"),
        (413, "RequestEntityTooLarge")]


def test_a_webchat_user_with_no_conversation_gets_the_dialog_when_they_connect(app, client, key):
    """The CRM triggers before Jan ever opened the chat: a conversation is begun for him, and his page's next
    connection opens it with the greeting and the dialog, and the page's user data."""
    first = trigger(client, key, address("loyalty", "dl_jan"), json=TRANSACTION)
    assert first.status_code == 202
    again = trigger(client, key, address("loyalty", "dl_jan"), json={"transaction": {**TRANSACTION["transaction"],
                                                                                      "id": "T-1002"}})
    assert again.json["conversationId"] == first.json["conversationId"]  # one conversation waits for him
    chat = Chat.generate(client, secret_of(app, "loyalty"), {"user": {"id": "dl_jan"}, "userData": {"tier": "gold"}})
    assert chat.conversation_id == first.json["conversationId"]
    assert texts(chat.poll()) == ["Hi! Move your points to a partner?", DONE, "Hi! Move your points to a partner?",
                                  DONE.replace("T-1001", "T-1002"), "Hi! Move your points to a partner?"]
    assert texts(chat.say("Yes"))[0] == "Your transfer has started. I will tell you when it is done."
    with app.app_context():
        assert db.session.get(BotUser, ("loyalty", "dl_jan")).data["tier"] == "gold"
    # He has spoken there now: his next page opens a conversation of its own, as any page does.
    assert Chat.generate(client, secret_of(app, "loyalty"), {"user": {"id": "dl_jan"}}).conversation_id != \
        chat.conversation_id

