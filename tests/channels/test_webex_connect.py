"""Webex Connect (Generic Bot / IMI Bot) end to end, browser-free: its events in its own format posted to the
connection's inbound address with the BOT's access token, the bot's replies received in its format by a local
stand-in of the webhook URL Webex generates (webex_standin.py), the jobs on the test's clock."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from webex_standin import WebexConnect, custom_event, delivery, message, postback

from runtime.channels.platforms import connections
from runtime.extensions import db
from runtime.store.bots import import_bot
from runtime.store.models import Conversation, HandoverSession, TranscriptEntry
from runtime.turns.transcript import transcript

HOOK = "/b/wbot/hooks/webex"
ACCESS, VERIFICATION = "webex-access-token-1", "webex-verification-token-1"
BOT = {"format": 1, "id": "wbot", "name": "Webex bot", "start": "welcome", "fallback": "nope",
       "triggers": [{"event": "1001", "dialog": "shipped"}],
       "dialogs": [
           {"id": "welcome", "title": "Welcome", "steps": [
               {"id": "w1", "type": "message", "text": "Welcome to Acme."},
               {"id": "w2", "type": "choice", "text": "Tea or coffee?", "storage": "drink", "options": [
                   {"title": "Tea", "value": "tea", "steps": []},
                   {"title": "Coffee", "value": "coffee", "steps": []},
                   {"title": "Person", "value": "person", "steps": [
                       {"id": "h1", "type": "handover", "text": "Connecting you to a person.", "queue": "cx"}]}]},
               {"id": "w3", "type": "message", "text": "One {{ drink }} coming."},
               {"id": "w4", "type": "goto", "dialog": "welcome", "mode": "jump"}]},
           {"id": "shipped", "title": "Shipped", "steps": [
               {"id": "s1", "type": "message", "text": "Order {{ customparam1 }} shipped."}]},
           {"id": "nope", "title": "Nope", "steps": [{"id": "n1", "type": "message", "text": "Sorry?"}]}]}


@pytest.fixture
def webex(httpserver) -> WebexConnect:
    return WebexConnect(httpserver)


@pytest.fixture
def connected(app, webex):
    """A Webex Connect connection of the test bot, verified as Webex's Verify does; its access token."""
    with app.app_context():
        import_bot(BOT, publish=True)
        made = connections.create("wbot", "webex", "Webex Connect", webex.webhook_url, kind="webex-connect",
                                  secrets={"accessToken": ACCESS, "verificationToken": VERIFICATION})
    assert made.token == ACCESS and made.shown["Verification token"] == VERIFICATION
    verify = app.test_client().post(HOOK, json={}, headers={"Authorization": f"Bearer {ACCESS}"})
    assert verify.status_code == 200 and verify.json["verificationToken"] == VERIFICATION
    return ACCESS


def post(client, body, token=ACCESS, header="Authorization"):
    headers = {"Authorization": f"Bearer {token}"} if header == "Authorization" else {header: token}
    return client.post(HOOK, json=body, headers=headers)


def users_said(app, conversation_id: str) -> list:
    with app.app_context():
        return [row.get("text", row.get("value")) for row in transcript(conversation_id)
                if row["from"]["role"] == "user"]


def test_a_connection_is_inactive_until_webex_verifies_it(app, client, webex):
    with app.app_context():
        import_bot(BOT, publish=True)
        made = connections.create("wbot", "webex", "Webex Connect", webex.webhook_url, kind="webex-connect")
        assert connections.get("wbot", "webex")["status"] == "unverified"
    refused = post(client, message("Tea", "m0"), made.token)
    assert refused.status_code == 403 and "not verified yet: press Verify" in refused.json["error"]["message"]
    verify = post(client, {}, made.token)  # Webex's Verify: the verification token comes back
    generated = made.shown["Verification token"]
    assert verify.status_code == 200 and verify.json["verificationToken"] == generated
    assert verify.headers["X-Verification-Token"] == generated
    with app.app_context():
        shown = connections.get("wbot", "webex")
        assert shown["status"] == "active" and shown["platform"] == "Webex Connect"
        assert generated not in str(shown) and made.token not in str(shown)
    assert post(client, message("Tea", "m1"), made.token).status_code == 200


def test_an_incoming_message_opens_the_conversation_keyed_on_its_conversationid(app, client, connected, jobs,
                                                                                webex):
    answer = post(client, message("Tea", "m1"))
    assert answer.status_code == 200 and answer.json["verificationToken"] == VERIFICATION  # every POST
    conversation_id = answer.json["conversationId"]
    jobs.drain()
    # The start dialog runs, then the first message is its first input; every reply names Conversationid.
    assert webex.messages == ["Welcome to Acme.", "Tea or coffee?\n- Tea\n- Coffee\n- Person", "One tea coming.",
                              "Welcome to Acme.", "Tea or coffee?\n- Tea\n- Coffee\n- Person"]
    reply = webex.replies[1]
    assert {key: reply[key] for key in ("Conversationid", "ConversationType", "Channel", "MessageType", "Event")} == {
        "Conversationid": "conv-bot-1", "ConversationType": "BOT", "Channel": "WHATSAPP", "MessageType": "text",
        "Event": "Outgoing message"}
    assert reply["Messageid"] == f"{conversation_id}|0000003"
    assert len(reply["Timestamp"]) == len("2026-12-07 03:00:00.25") and reply["Timestamp"][10] == " "
    assert post(client, message("Coffee", "m2")).json["conversationId"] == conversation_id
    other = post(client, message("Tea", "m3", conversation="conv-bot-2")).json["conversationId"]
    assert other != conversation_id


def test_a_postback_and_a_custom_event_reach_the_bot(app, client, connected, jobs, webex):
    conversation_id = post(client, message("hello", "m1")).json["conversationId"]
    assert post(client, postback("Coffee")).json["conversationId"] == conversation_id
    assert post(client, custom_event("1001", customparam1="A-17", customparam2="x")).status_code == 200
    jobs.drain()
    assert "One coffee coming." in webex.messages and webex.messages[-1] == "Order A-17 shipped."
    with app.app_context():
        events = [row for row in transcript(conversation_id) if row["type"] == "event"]
    assert events[0]["name"] == "1001" and events[0]["value"]["customparam1"] == "A-17"


def test_a_retried_event_is_applied_once(app, client, connected, jobs, webex):
    first = post(client, message("Tea", "m1")).json["conversationId"]
    assert post(client, message("Tea", "m1")).json["conversationId"] == first  # Webex retries: same Messageid
    post(client, message("Coffee", "m2"))
    post(client, message("Coffee", "m2"))
    post(client, postback("Tea", stamp="2026-12-07 03:01:00.00"))
    post(client, postback("Tea", stamp="2026-12-07 03:01:00.00"))  # a postback has no id: the same body
    assert users_said(app, first) == ["Tea", "Coffee", "Tea"]
    jobs.drain()
    assert webex.messages.count("One coffee coming.") == 1 and webex.messages.count("One tea coming.") == 2


def test_delivery_statuses_are_kept_on_the_messages(app, client, connected, jobs, webex):
    conversation_id = post(client, message("Tea", "m1")).json["conversationId"]
    jobs.drain()
    first, second = webex.replies[0]["Messageid"], webex.replies[1]["Messageid"]
    assert post(client, delivery(first, "Delivered")).json == {"verificationToken": VERIFICATION, "applied": True}
    assert post(client, delivery(first, "Read")).json["applied"] is True
    assert post(client, delivery(first, "Delivered")).json["applied"] is False  # late: read stays
    assert post(client, delivery(second, "Failed", "User blocked the business")).json["applied"] is True
    with app.app_context():
        shown = {row["id"]: (row.get("channelData") or {}).get("delivery") for row in transcript(conversation_id)}
    assert shown[first]["status"] == "read"
    assert shown[second]["status"] == "failed" and shown[second]["description"] == "User blocked the business"
    assert shown[first]["at"].startswith("2026-12-07T03:00:00.25")  # Webex's GMT timestamp


def test_a_handover_raises_the_handover_event_and_the_agents_conversation_reaches_the_bot(app, client, connected,
                                                                                          jobs, webex):
    conversation_id = post(client, message("Person", "m1")).json["conversationId"]
    jobs.drain()
    assert webex.replies[-1]["Event"] == "Handover" and webex.replies[-1]["Conversationid"] == "conv-bot-1"
    assert webex.replies[-1]["Queue"] == "cx"
    assert webex.messages[-1] == "Connecting you to a person."  # said before the Handover event
    sent = len(webex.replies)
    # While the agents hold it, the customer's and the agent's messages come on the agent conversation id.
    for number, text in enumerate(["My kettle broke", "Agent Ana here, sorry to hear"]):
        agent_side = message(text, f"a{number}", conversation=webex.agent_conversation, ConversationType="CCSP")
        assert post(client, agent_side).json["conversationId"] == conversation_id
    jobs.drain()
    assert len(webex.replies) == sent  # the bot does not answer while agents hold the conversation
    assert users_said(app, conversation_id)[-2:] == ["My kettle broke", "Agent Ana here, sorry to hear"]
    # The agent closed on Webex's side: the next message comes on the BOT conversation id, and the bot is back.
    assert post(client, message("Tea", "m2")).json["conversationId"] == conversation_id
    jobs.drain()
    with app.app_context():
        session = db.session.scalars(select(HandoverSession)).one()
        assert session.status == "closed"
    assert "Tea or coffee?\n- Tea\n- Coffee\n- Person" in webex.messages[sent:]


def test_under_forward_to_bot_no_handover_event_is_raised(app, client, connected, jobs, webex):
    with app.app_context():
        shown = connections.edit("wbot", "webex", rule="bot")
    assert shown["ruleName"] == "Forward the message to BOT"
    post(client, message("Person", "m1"))
    jobs.drain()
    assert "Handover" not in [body["Event"] for body in webex.replies]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-Access-Token": "wrong"},
                                     {"X-Verification-Token": VERIFICATION}])
def test_a_missing_or_wrong_access_token_is_401_and_nothing_is_stored(app, client, connected, headers):
    answer = client.post(HOOK, json=message("Tea", "m1"), headers=headers)
    assert answer.status_code == 401 and "access token" in answer.json["error"]["message"]
    assert "verificationToken" not in answer.json and VERIFICATION not in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_the_access_token_header_is_accepted(client, connected):
    assert post(client, message("Tea", "m1"), header="X-Access-Token").status_code == 200


@pytest.mark.parametrize("body, says", [
    (["a list"], "one JSON object"),
    ({"Event": "Typing", "Conversationid": "c"}, '"Event" must be one of'),
    ({**message("Tea", "m1"), "Conversationid": ""}, 'lacks "Conversationid"'),
    ({**message("Tea", "m1"), "Messageid": 7}, '"Messageid" must be a string'),
    ({**message("", "m1")}, 'needs a "Message" or a "Media"'),
    ({**message("Tea", "m1"), "Timestamp": "2026-12-07T03:00:00Z"}, '"Timestamp" must be "YYYY-MM-DD hh:mm:ss.SS"'),
    (delivery("x|0000001", "Seen"), '"DeliveryStatus" must be one of Delivered, Failed, Read'),
    ({"eventid": "10 01", "conversation_id": "c"}, '"eventid" has 1 to 100'),
    ({"eventid": "1001"}, 'lacks "conversation_id"'),
])
def test_a_malformed_event_is_400_saying_what_to_change(app, client, connected, body, says):
    answer = post(client, body)
    assert answer.status_code == 400 and says in answer.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TranscriptEntry)) == 0


def test_media_reaches_the_bot_as_a_value_and_images_go_out_in_media(app, client, connected, jobs):
    picture = message("", "m1", Media="https://cdn.example/p.jpg", MessageType="image")
    conversation_id = post(client, picture).json["conversationId"]
    with app.app_context():
        inbound = [row for row in transcript(conversation_id) if row["from"]["role"] == "user"][0]
    assert inbound["attachments"][0]["contentUrl"] == "https://cdn.example/p.jpg"
