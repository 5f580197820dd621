"""Twilio SMS and WhatsApp end to end, browser-free: Twilio's form-encoded webhooks signed with the auth token
over the configured public URL, the answers read as TwiML, later replies received by a local stand-in of the
Messages API (twilio_standin.py), status callbacks, the jobs on the test's clock. The meter-reading bot of the
documents: the sender's number is `user.phone`."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from twilio_standin import ACCOUNT, AUTH_TOKEN, NUMBER, PUBLIC, USER, Twilio, signed, sms, status

from runtime.channels.platforms import connections
from runtime.extensions import db
from runtime.management.models import OutgoingSms
from runtime.store import handovers
from runtime.store.bots import import_bot
from runtime.store.models import Conversation
from runtime.turns.transcript import transcript

HOOK = "/b/tbot/hooks/sms"
BOT = {"format": 1, "id": "tbot", "name": "Meter bot", "start": "welcome", "dialogs": [
    {"id": "welcome", "title": "Welcome", "steps": [
        {"id": "c1", "type": "condition", "branches": [
            {"when": f'user.phone == "{USER}"', "steps": [
                {"id": "m1", "type": "message", "text": "Hello, account {{ user.phone }}."}]}],
         "else": [{"id": "m2", "type": "message", "text": "We do not know {{ user.phone }}."}]},
        {"id": "q1", "type": "question", "text": "Send METER and your reading.", "storage": "reading"},
        {"id": "m3", "type": "message", "text": "Stored {{ reading }} for {{ user.phone }}."},
        {"id": "w1", "type": "wait", "events": ["never"], "timeout": 60, "onEvent": [],
         "onTimeout": [{"id": "m4", "type": "message", "text": "Did the reading arrive?"}]}]}]}


@pytest.fixture
def twilio(httpserver) -> Twilio:
    return Twilio(httpserver)


@pytest.fixture
def app_config(httpserver):
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1", "TWILIO_API_URL": httpserver.url_for("").rstrip("/")}


@pytest.fixture
def connected(app, twilio):
    with app.app_context():
        import_bot(BOT, publish=True)
        made = connections.create("tbot", "sms", "Twilio SMS", "", kind="twilio",
                                  settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": PUBLIC},
                                  secrets={"authToken": AUTH_TOKEN})
    assert made.shown == {}
    return made


def post(client, fields: dict, *, query: str = "", url: str = PUBLIC, headers: dict | None = None):
    target = f"{url}?{query}" if query else url
    return client.post(f"{HOOK}?{query}" if query else HOOK, data=fields,
                       headers=signed(target, fields) if headers is None else headers)


def twiml(answer) -> list[dict]:
    """The <Message>s of a TwiML answer: text, media, action."""
    assert answer.status_code == 200 and answer.mimetype == "text/xml", answer.get_data(as_text=True)
    root = ElementTree.fromstring(answer.get_data())
    assert root.tag == "Response"
    return [{"text": (message.text or "").strip(), "media": [media.text for media in message.findall("Media")],
             "action": message.get("action")} for message in root.findall("Message")]


def conversation_of(app) -> str:
    with app.app_context():
        return db.session.scalars(select(Conversation.id)).one()


def test_an_sms_is_answered_with_twiml_and_the_senders_number_is_user_phone(app, client, connected, twilio, jobs):
    said = twiml(post(client, sms("METER 123455", "SM1")))
    assert [m["text"] for m in said] == [f"Hello, account {USER}.", "Send METER and your reading.",
                                         f"Stored METER 123455 for {USER}."]
    conversation_id = conversation_of(app)
    assert said[0]["action"] == f"{PUBLIC}?status={quote(conversation_id + '|0000002', safe='')}"
    jobs.drain()
    assert twilio.sent == []  # answered in the response: nothing sent twice through the API
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutgoingSms)) == 0


def test_another_number_and_whatsapp_with_media(app, client, connected):
    sender = "whatsapp:+447700900999"
    picture = sms("", "SM2", sender=sender, NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1",
                  MediaContentType0="image/jpeg")
    said = twiml(post(client, picture))
    assert said[0]["text"] == "We do not know +447700900999."
    with app.app_context():
        conversation = db.session.scalars(select(Conversation)).one()
        inbound = [row for row in transcript(conversation.id) if row["from"]["role"] == "user"][0]
    assert conversation.user_id == f"twilio:{sender}"
    assert inbound["attachments"] == [{"contentType": "image/jpeg", "contentUrl": "https://api.twilio.com/media/ME1"}]
    assert inbound["channelData"]["platform"]["channel"] == "WHATSAPP"


def test_later_replies_go_through_the_messages_api_and_their_statuses_come_back(app, client, connected, twilio,
                                                                               jobs, clock):
    post(client, sms("METER 123455", "SM1"))
    conversation_id = conversation_of(app)
    jobs.drain(until=clock.later(minutes=2))  # the wait step's timer: a reply nobody's request answers
    assert len(twilio.sent) == 1
    sent = twilio.sent[0]
    message_id = f"{conversation_id}|0000006"  # after the timer's own row
    assert {key: sent[key] for key in ("To", "From", "Body")} == {"To": USER, "From": NUMBER,
                                                                  "Body": "Did the reading arrive?"}
    assert sent["StatusCallback"] == f"{PUBLIC}?status={quote(message_id, safe='')}"
    query = f"status={quote(message_id, safe='')}"
    assert post(client, status("SM00000000000000000000000000000001", "delivered"), query=query).status_code == 200
    post(client, status("SM00000000000000000000000000000001", "failed", "30007"), query=query)  # late: stays
    with app.app_context():
        shown = {row["id"]: (row.get("channelData") or {}).get("delivery") for row in transcript(conversation_id)}
        logged = db.session.scalars(select(OutgoingSms)).one()
    assert shown[message_id]["status"] == "delivered"
    assert logged.status == "sent" and logged.provider_id.startswith("SM") and logged.recipients == [USER]
    first = f"{conversation_id}|0000002"  # a TwiML message's callback, from its action URL
    post(client, status("SM9", "undelivered", "30003"), query=f"status={quote(first, safe='')}")
    with app.app_context():
        row = next(row for row in transcript(conversation_id) if row["id"] == first)
    assert row["channelData"]["delivery"] == {**row["channelData"]["delivery"], "status": "failed",
                                              "description": "Twilio error 30003"}


BATCH_BOT = {"format": 1, "id": "tbot", "name": "Batch bot", "start": "welcome", "dialogs": [
    {"id": "welcome", "title": "Welcome", "steps": [
        {"id": "m1", "type": "message", "text": "Hello."},
        {"id": "w1", "type": "wait", "events": ["never"], "timeout": 60, "onEvent": [], "onTimeout": [
            {"id": "m2", "type": "message", "text": "Your reading is due."},
            {"id": "m3", "type": "message", "text": "Here is how to read the meter."},
            {"id": "m4", "type": "message", "text": "Reply with the number."}]}]}]}


def batch(app, client, jobs, clock) -> None:
    """The batch bot connected, greeted, and its timer's turn run: three replies nobody's request answers."""
    with app.app_context():
        import_bot(BATCH_BOT, publish=True)
        connections.create("tbot", "sms", "Twilio SMS", "", kind="twilio",
                           settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": PUBLIC},
                           secrets={"authToken": AUTH_TOKEN})
    assert twiml(post(client, sms("Hi", "SM1")))[0]["text"] == "Hello."
    jobs.drain(until=clock.later(minutes=2))


def test_replies_after_one_that_could_not_be_sent_end_failed_unsent(app, client, twilio, jobs, clock):
    """Twilio refuses the second of a timer's three replies for good (21617, too long): the first is sent, the
    second fails at once with Twilio's reason in a sentence (no retry could change it), and the third is never
    sent (it would read out of order) but fails too, saying why; no row is left queued, no retry is scheduled,
    and the transcript shows each status."""
    twilio.refuse = {"Here is how to read the meter."}
    batch(app, client, jobs, clock)
    assert jobs.scheduled() == []  # no retry
    jobs.drain_all()
    assert [fields["Body"] for fields in twilio.sent] == ["Your reading is due."]
    assert [fields["Body"] for fields in twilio.refused] == ["Here is how to read the meter."]  # tried once
    with app.app_context():
        logged = [(row.message, row.status, row.error) for row in
                  db.session.scalars(select(OutgoingSms).order_by(OutgoingSms.id))]
        said = {row.get("text"): (row.get("channelData") or {}).get("delivery", {})
                for row in transcript(conversation_of(app)) if row["from"]["role"] == "bot"}
    assert [(message, status) for message, status, _ in logged] == [
        ("Your reading is due.", "sent"), ("Here is how to read the meter.", "failed"),
        ("Reply with the number.", "failed")]
    refused, after = logged[1][2], logged[2][2]
    assert refused == ("Twilio refused the message (21617: The concatenated message body exceeds the 1600 character "
                       "limit); shorten the message to at most 1,600 characters.")
    assert after == "An earlier reply of this turn could not be sent."
    assert said["Your reading is due."]["status"] == "sent"
    assert {key: said["Here is how to read the meter."][key] for key in ("status", "description")} == {
        "status": "failed", "description": refused}
    assert {key: said["Reply with the number."][key] for key in ("status", "description")} == {
        "status": "failed", "description": after}


@pytest.mark.parametrize("app_config", [{"OUTBOUND_ALLOW_HOSTS": "", "TWILIO_API_URL": "http://10.0.0.5"}])
def test_twilios_api_address_refused_by_the_outbound_guard_names_the_operators_settings(app, client, jobs, clock):
    """The outbound guard refuses TWILIO_API_URL (a private address not allow-listed): the reply fails at once, and
    its reason sends the owner to the operator's TWILIO_API_URL and OUTBOUND_ALLOW_HOSTS, not to an SMS provider's
    base URL the connection does not have; the transcript shows the same reason."""
    batch(app, client, jobs, clock)
    assert jobs.scheduled() == []  # no retry: the address must change first
    with app.app_context():
        refused = db.session.scalars(select(OutgoingSms).order_by(OutgoingSms.id)).first()
        said = {row.get("text"): (row.get("channelData") or {}).get("delivery", {})
                for row in transcript(conversation_of(app)) if row["from"]["role"] == "bot"}
    assert (refused.message, refused.status, refused.attempts) == ("Your reading is due.", "failed", 1)
    assert refused.error == (
        "Refused to connect to 10.0.0.5: a private address. Outside systems must be on public addresses; an operator "
        "can allow this one with OUTBOUND_ALLOW_HOSTS. That is Twilio's API address, an Arbor setting, not one of "
        "the connection's: ask Arbor's operator to correct TWILIO_API_URL, or to allow its host with "
        "OUTBOUND_ALLOW_HOSTS.")
    assert "base URL" not in refused.error
    assert said["Your reading is due."]["description"] == refused.error


def test_a_reply_twilio_cannot_take_now_is_retried_and_the_turns_replies_go_in_order(app, client, twilio, jobs,
                                                                                    clock):
    """Twilio answers 503 to the second reply twice: the job is retried through its back-off, the third reply
    waiting, until all three are sent in order; the row keeps the tries and no error."""
    twilio.busy = {"Here is how to read the meter.": 2}
    batch(app, client, jobs, clock)
    assert [fields["Body"] for fields in twilio.sent] == ["Your reading is due."]
    with app.app_context():
        waiting = db.session.scalars(select(OutgoingSms).where(OutgoingSms.message.like("Here is%"))).one()
    assert (waiting.status, waiting.attempts) == ("queued", 1)
    assert waiting.error == "Twilio could not take the message now (20503: Service Unavailable). Arbor tries again " \
                            "later."
    jobs.drain_all()
    assert [fields["Body"] for fields in twilio.unavailable] == ["Here is how to read the meter."] * 2
    assert [fields["Body"] for fields in twilio.sent] == ["Your reading is due.", "Here is how to read the meter.",
                                                          "Reply with the number."]
    with app.app_context():
        logged = [(row.status, row.attempts, row.error) for row in
                  db.session.scalars(select(OutgoingSms).order_by(OutgoingSms.id))]
        said = {row.get("text"): (row.get("channelData") or {}).get("delivery", {}).get("status")
                for row in transcript(conversation_of(app)) if row["from"]["role"] == "bot"}
    assert logged == [("sent", 1, None), ("sent", 3, None), ("sent", 1, None)]
    assert said["Here is how to read the meter."] == said["Reply with the number."] == "sent"


def test_a_retried_message_is_applied_once(app, client, connected):
    first = twiml(post(client, sms("METER 123455", "SM1")))
    assert twiml(post(client, sms("METER 123455", "SM1"))) == first  # Twilio retried: the same answer again
    with app.app_context():
        said = [row for row in transcript(conversation_of(app)) if row["from"]["role"] == "user"]
    assert len(said) == 1


def test_the_signature_is_checked_against_the_configured_public_url_never_the_host(app, client, connected):
    fields = sms("METER 1", "SM1")
    for_the_host = client.post(HOOK, data=fields, headers=signed(f"http://localhost{HOOK}", fields))
    assert for_the_host.status_code == 403 and PUBLIC in for_the_host.json["error"]["message"]
    proxied = client.post(HOOK, data=fields, headers={**signed(PUBLIC, fields), "Host": "evil.example"})
    assert proxied.status_code == 200  # the Host header plays no part


@pytest.mark.parametrize("case, code, says", [
    ("unsigned", 403, "no X-Twilio-Signature"),
    ("wrong token", 403, "does not match"),
    ("tampered", 403, "does not match"),
    ("json", 400, "application/x-www-form-urlencoded"),
    ("no From", 400, "lacks From"),
    ("other account", 403, "another Twilio account"),
])
def test_each_refusal_says_why_and_stores_nothing(app, client, connected, case, code, says):
    fields = sms("METER 1", "SM1")
    if case == "unsigned":
        answer = client.post(HOOK, data=fields)
    elif case == "wrong token":
        answer = client.post(HOOK, data=fields, headers=signed(PUBLIC, fields, token="not-the-token"))
    elif case == "tampered":
        answer = client.post(HOOK, data={**fields, "Body": "METER 999"}, headers=signed(PUBLIC, fields))
    elif case == "json":
        answer = client.post(HOOK, json=fields, headers=signed(PUBLIC, {}))
    elif case == "no From":
        fields.pop("From")
        answer = post(client, fields)
    else:
        answer = post(client, {**fields, "AccountSid": "AC" + "f" * 32})
    assert answer.status_code == code and says in answer.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_without_a_public_url_the_base_url_setting_is_used(app, client, twilio):
    app.config["ARBOR_BASE_URL"] = "https://bots.example.org/"
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("tbot", "sms", "Twilio SMS", "", kind="twilio",
                           settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER}, secrets={"authToken": AUTH_TOKEN})
    fields = sms("METER 1", "SM1")
    assert post(client, fields, url=f"https://bots.example.org{HOOK}").status_code == 200


def test_the_test_button_checks_the_account_sid_and_auth_token(app, connected, twilio):
    with app.app_context():
        assert "Twilio accepted the account SID and auth token" in connections.check("tbot", "sms")
        connections.edit("tbot", "sms", secrets={"authToken": "a-wrong-token"})
        with pytest.raises(connections.PlatformError, match="refused the account SID and auth token"):
            connections.check("tbot", "sms")
        shown = connections.get("tbot", "sms")
    assert "a-wrong-token" not in str(shown) and AUTH_TOKEN not in str(shown)
    assert shown["settings"] == {"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": PUBLIC}


@pytest.mark.parametrize("settings, says", [
    ({"accountSid": "AC123", "phoneNumber": NUMBER}, "account SID is AC followed by 32"),
    ({"accountSid": ACCOUNT, "phoneNumber": "07700 900123"}, "E.164"),
    ({"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": "ftp://x"}, "public URL"),
])
def test_bad_settings_are_refused_saying_what_to_change(app, settings, says):
    with app.app_context():
        import_bot(BOT, publish=True)
        with pytest.raises(connections.PlatformError, match=says):
            connections.create("tbot", "sms", "Twilio", "", kind="twilio", settings=settings,
                               secrets={"authToken": AUTH_TOKEN})
        with pytest.raises(connections.PlatformError, match="auth token"):
            connections.create("tbot", "sms", "Twilio", "", kind="twilio",
                               settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": PUBLIC})
        with pytest.raises(connections.PlatformError, match="Give the public URL"):  # nor ARBOR_BASE_URL
            connections.create("tbot", "sms", "Twilio", "", kind="twilio",
                               settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER}, secrets={"authToken": "x"})


HELP_BOT = {"format": 1, "id": "tbot", "name": "Help", "start": "welcome", "dialogs": [
    {"id": "welcome", "title": "Welcome", "steps": [
        {"id": "c1", "type": "choice", "text": "What do you need?", "storage": "need", "options": [
            {"title": "Person", "value": "person", "steps": [
                {"id": "h1", "type": "handover", "text": "Connecting you to a person.", "queue": "support"}]},
            {"title": "Tea", "value": "tea", "steps": []}]},
        {"id": "q1", "type": "question", "text": "Anything else?", "storage": "more"}]}]}
ANA = {"id": 7, "name": "Ana"}


def connect_help_bot(app, rule: str) -> None:
    with app.app_context():
        import_bot(HELP_BOT, publish=True)
        connections.create("tbot", "sms", "Twilio SMS", "", kind="twilio", rule=rule,
                           settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": PUBLIC},
                           secrets={"authToken": AUTH_TOKEN})


def test_a_handover_then_the_agents_messages_go_through_the_messages_api(app, client, twilio, jobs):
    connect_help_bot(app, "bot-first")
    said = twiml(post(client, sms("Person", "SM1")))
    assert [m["text"] for m in said] == ["What do you need?\n- Person\n- Tea", "Connecting you to a person."]
    conversation_id = conversation_of(app)
    with app.app_context():
        session = handovers.open_of(conversation_id)
        handovers.accept(session.id, ANA)
        handovers.post(session.id, ANA, "Hi, Ana here. What broke?")
    assert twiml(post(client, sms("My kettle", "SM2"))) == []  # kept for the agent; the bot does not answer
    jobs.drain()
    assert [fields["Body"] for fields in twilio.sent] == ["Ana joined the conversation.", "Hi, Ana here. What broke?"]
    assert {fields["To"] for fields in twilio.sent} == {USER}
    with app.app_context():
        assert [row.get("text") for row in transcript(conversation_id) if row["from"]["role"] == "user"] == [
            "Person", "My kettle"]


def test_under_the_bot_rule_the_handover_closes_and_the_bot_goes_on_in_the_same_answer(app, client, twilio, jobs):
    connect_help_bot(app, "bot")
    said = [m["text"] for m in twiml(post(client, sms("Person", "SM1")))]
    assert said[:2] == ["What do you need?\n- Person\n- Tea", "Connecting you to a person."]
    assert said[-1] == "Anything else?"  # what the closed handover let the bot say is in this answer too
    jobs.drain()
    assert twilio.sent == []


def test_user_phone_fills_an_integrations_params(app, client, twilio, httpserver):
    """The meter bot finds the account by the sender's number: `{{ user.phone }}` in an integration's query."""
    httpserver.expect_request("/crm/accounts", query_string={"phone": USER}).respond_with_json({"id": "ACC-9"})
    bot = {"format": 1, "id": "tbot", "name": "Meter", "start": "welcome",
           "integrations": {"crm": {"template": "http-request", "config": {"baseUrl": httpserver.url_for("/crm")}}},
           "dialogs": [{"id": "welcome", "title": "Welcome", "steps": [
               {"id": "i1", "type": "integration", "use": "crm", "timing": "sync", "output": "account",
                "params": {"url": "/accounts", "query": {"phone": "{{ user.phone }}"}}},
               {"id": "m1", "type": "message", "text": "Reading stored for account {{ account.body.id }}."}]}]}
    with app.app_context():
        import_bot(bot, publish=True)
        connections.create("tbot", "sms", "Twilio SMS", "", kind="twilio",
                           settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": PUBLIC},
                           secrets={"authToken": AUTH_TOKEN})
    said = twiml(post(client, sms("METER 123455", "SM1")))
    assert [m["text"] for m in said] == ["Reading stored for account ACC-9."]
