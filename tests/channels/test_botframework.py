"""Microsoft Bot Framework end to end, browser-free: activities as the Bot Connector API sends them, each with a
JWT signed by a local stand-in issuer (botframework_standin.py: its OpenID metadata, key set and token endpoint),
posted to the bot's messaging endpoint; the bot's replies received in Bot Framework format by the stand-in's
connector service (the activities' serviceUrl) with a token from its token endpoint; the jobs on the test's clock.
The refusals of bad tokens are tests/security/test_botframework_token.py's."""

from __future__ import annotations

import pytest
from botframework_standin import APP_ID, APP_PASSWORD, BOT_ACCOUNT, CHANNEL, CONVERSATION, USER_ACCOUNT, BotFramework
from sqlalchemy import func, select

from runtime.channels.platforms import connections
from runtime.channels.platforms.adapters import botframework_auth
from runtime.channels.platforms.adapters.base import PlatformError
from runtime.extensions import db
from runtime.store import handovers
from runtime.store import secrets as bot_secrets
from runtime.store.bots import import_bot
from runtime.store.models import Conversation, TranscriptEntry
from runtime.turns.transcript import transcript

ENDPOINT = "/b/bfbot/botframework/messages"
HERO = "application/vnd.microsoft.card.hero"
BOT = {"format": 1, "id": "bfbot", "name": "BF bot", "start": "welcome",
       "triggers": [{"event": "messageReaction", "dialog": "thanks"}],
       "dialogs": [
           {"id": "welcome", "title": "Welcome", "steps": [
               {"id": "w1", "type": "message", "text": "Welcome to Acme."},
               {"id": "w2", "type": "carousel", "text": "Our plans", "storage": "plan", "cards": [
                   {"title": "Basic", "subtitle": "5 EUR a month", "image": "https://example.com/basic.png",
                    "buttons": [{"title": "Choose Basic", "value": "basic"}]},
                   {"title": "Pro", "subtitle": "9 EUR a month",
                    "buttons": [{"title": "Choose Pro", "value": "pro"}]}]},
               {"id": "w3", "type": "choice", "text": "Tea or coffee?", "storage": "drink", "options": [
                   {"title": "Tea", "value": "tea", "steps": []},
                   {"title": "Coffee", "value": "coffee", "steps": []},
                   {"title": "Person", "value": "person", "steps": [
                       {"id": "h1", "type": "handover", "text": "Connecting you to a person.", "queue": "cx"}]}]},
               {"id": "w4", "type": "message", "text": "One {{ drink }} on the {{ plan }} plan."},
               {"id": "w5", "type": "wait", "events": ["never"], "timeout": 60, "onEvent": [],
                "onTimeout": [{"id": "w6", "type": "message", "text": "Still there?"}]}]},
           {"id": "thanks", "title": "Thanks", "steps": [{"id": "t1", "type": "message", "text": "Thanks for the "
                                                                                                "reaction."}]}]}
ANA = {"id": 7, "name": "Ana"}


@pytest.fixture(autouse=True)
def fresh_keys():
    """Each test's issuer is read afresh (the stand-in's server, and so its addresses, may be another test's)."""
    botframework_auth.forget()
    yield
    botframework_auth.forget()


@pytest.fixture
def bf(httpserver) -> BotFramework:
    return BotFramework(httpserver)


@pytest.fixture
def connected(app, bf):
    with app.app_context():
        import_bot(BOT, publish=True)
        made = connections.create("bfbot", "teams", "Teams via Azure Bot Service", "", kind="botframework",
                                  settings=bf.settings(), secrets={"appPassword": APP_PASSWORD})
    assert made.shown == {} and made.connection["inboundPath"] == ENDPOINT
    return made


def post(client, bf: BotFramework, activity: dict, token: str | None = None):
    return client.post(ENDPOINT, json=activity, headers={"Authorization": f"Bearer {token or bf.token(activity)}"})


def said_by_user(app, conversation_id: str) -> list:
    with app.app_context():
        return [row.get("text", row.get("name")) for row in transcript(conversation_id)
                if row["from"]["role"] == "user"]


def greeted(client, bf, jobs) -> str:
    answer = post(client, bf, bf.members_added("c1", BOT_ACCOUNT, USER_ACCOUNT))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    jobs.drain()
    return answer.json["conversationId"]


def test_the_bot_added_to_a_conversation_greets_with_cards_and_suggested_actions(app, client, connected, bf, jobs):
    conversation_id = greeted(client, bf, jobs)
    assert bf.texts == ["Welcome to Acme.", "Our plans"]
    post(client, bf, bf.message("basic", "m1"))  # a card's postBack button: its value as the text
    jobs.drain()
    welcome, plans, choice = (reply["body"] for reply in bf.replies)
    # ReplyToActivity: to the conversation, answering the activity, from the bot's account.
    assert [(reply["conversation"], reply["replyTo"]) for reply in bf.replies] == [(CONVERSATION, "c1")] * 2 + [
        (CONVERSATION, "m1")]
    assert welcome["type"] == "message" and welcome["from"] == BOT_ACCOUNT and welcome["recipient"] == USER_ACCOUNT
    assert welcome["conversation"] == {"id": CONVERSATION} and welcome["serviceUrl"] == bf.service_url
    assert welcome["channelId"] == CHANNEL and welcome["replyToId"] == "c1" and "channelData" not in welcome
    # The hero cards and suggested actions Direct Line serves, as they are.
    assert plans["attachmentLayout"] == "carousel" and [card["contentType"] for card in plans["attachments"]] == [
        HERO, HERO]
    basic = plans["attachments"][0]["content"]
    assert basic["title"] == "Basic" and basic["images"] == [{"url": "https://example.com/basic.png"}]
    assert [(b["type"], b["title"], b["value"]) for b in basic["buttons"]] == [("postBack", "Choose Basic", "basic")]
    assert [a["title"] for a in choice["suggestedActions"]["actions"]] == ["Tea", "Coffee", "Person"]
    assert "to" not in choice["suggestedActions"]  # Arbor's user ids mean nothing to the channel
    # One token for all, from the configured endpoint by client credentials.
    assert {reply["authorization"] for reply in bf.replies} == {"Bearer connector-token-1"}
    assert len(bf.token_requests) == 1 and bf.token_requests[0]["client_id"] == APP_ID
    with app.app_context():
        sent = [row for row in transcript(conversation_id) if row["from"].get("role") == "bot"]
    assert {row["channelData"]["delivery"]["status"] for row in sent} == {"sent"}


def test_messages_and_card_buttons_reach_the_bot_and_each_answer_replies_to_its_activity(app, client, connected, bf,
                                                                                       jobs):
    conversation_id = greeted(client, bf, jobs)
    assert post(client, bf, bf.message("basic", "m1")).json["conversationId"] == conversation_id  # postBack
    assert post(client, bf, bf.message(None, "m2", value="tea")).json["conversationId"] == conversation_id  # a value
    jobs.drain()
    assert bf.texts[2:] == ["Tea or coffee?", "One tea on the basic plan."]
    assert [reply["replyTo"] for reply in bf.replies[2:]] == ["m1", "m2"]
    with app.app_context():
        inbound = [row for row in transcript(conversation_id) if row["from"]["role"] == "user"]
    assert inbound[1]["from"]["name"] == "Ana" and inbound[1]["channelData"]["platform"]["serviceUrl"] == bf.service_url
    assert inbound[2]["value"] == "tea"
    # Another conversation of the channel is another Arbor conversation.
    other = post(client, bf, bf.members_added("c9", BOT_ACCOUNT, conversation="a:conv-2")).json["conversationId"]
    assert other != conversation_id


def test_a_retried_activity_is_applied_once(app, client, connected, bf, jobs):
    conversation_id = greeted(client, bf, jobs)
    assert post(client, bf, bf.members_added("c1", BOT_ACCOUNT, USER_ACCOUNT)).json["conversationId"] == \
        conversation_id
    for _ in range(2):
        assert post(client, bf, bf.message("basic", "m1")).json["conversationId"] == conversation_id
    jobs.drain()
    assert said_by_user(app, conversation_id) == ["conversationUpdate", "basic"]
    assert bf.texts == ["Welcome to Acme.", "Our plans", "Tea or coffee?"]


def test_a_reaction_is_an_event_the_bot_may_answer_and_typing_makes_no_turn(app, client, connected, bf, jobs):
    conversation_id = greeted(client, bf, jobs)
    reaction = bf.activity("messageReaction", "r1", reactionsAdded=[{"type": "like"}], replyToId="reply-2")
    assert post(client, bf, reaction).json["conversationId"] == conversation_id
    assert post(client, bf, bf.activity("typing", "t1")).status_code == 200
    jobs.drain()
    assert bf.texts[-1] == "Thanks for the reaction." and bf.replies[-1]["replyTo"] == "r1"
    with app.app_context():
        events = [row for row in transcript(conversation_id) if row["type"] == "event"]
        assert db.session.scalar(select(func.count()).select_from(TranscriptEntry)
                                 .where(TranscriptEntry.client_key == "typing:t1")) == 0
    assert events[-1]["name"] == "messageReaction"
    assert events[-1]["value"] == {"reactionsAdded": [{"type": "like"}], "reactionsRemoved": [], "replyToId": "reply-2"}


def test_what_opens_no_conversation_is_answered_and_nothing_is_kept(app, client, connected, bf):
    # A reaction, or a member other than the bot joining, where the bot has no conversation yet.
    for activity in (bf.activity("messageReaction", "r1", reactionsAdded=[{"type": "like"}]),
                     bf.members_added("c1", USER_ACCOUNT), bf.activity("typing", "t1")):
        answer = post(client, bf, activity)
        assert answer.status_code == 200 and answer.json.get("conversationId") is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_a_later_reply_goes_to_the_conversation_and_the_token_is_fetched_again_before_it_expires(
        app, client, connected, bf, jobs, clock):
    greeted(client, bf, jobs)
    post(client, bf, bf.message("pro", "m1"))
    post(client, bf, bf.message("Coffee", "m2"))
    jobs.drain(until=clock.later(minutes=2))  # the wait step's timer: a reply no activity asked for
    assert bf.texts[-2:] == ["One coffee on the pro plan.", "Still there?"]
    late = bf.replies[-1]
    assert late["replyTo"] is None and late["conversation"] == CONVERSATION  # SendToConversation
    assert "replyToId" not in late["body"] and late["body"]["serviceUrl"] == bf.service_url
    assert len(bf.token_requests) == 1
    clock.move_to(clock.later(minutes=56))  # the token lasts 3599 s; Arbor fetches a new one 5 min before
    post(client, bf, bf.message("hello", "m3"))
    jobs.drain()
    assert len(bf.token_requests) == 2 and bf.replies[-1]["authorization"] == "Bearer connector-token-2"


def test_a_handover_then_the_agents_messages_go_to_the_conversation(app, client, connected, bf, jobs):
    conversation_id = greeted(client, bf, jobs)
    post(client, bf, bf.message("basic", "m1"))
    post(client, bf, bf.message("Person", "m2"))
    with app.app_context():
        session = handovers.open_of(conversation_id)
        handovers.accept(session.id, ANA)
        handovers.post(session.id, ANA, "Hi, Ana here. What broke?")
    post(client, bf, bf.message("My kettle", "m3"))  # kept for the agent; the bot does not answer
    jobs.drain()
    assert bf.texts[-3:] == ["Connecting you to a person.", "Ana joined the conversation.",
                             "Hi, Ana here. What broke?"]
    agent = bf.replies[-1]
    assert agent["replyTo"] is None and agent["body"]["from"] == {"id": BOT_ACCOUNT["id"], "name": "Ana"}
    assert said_by_user(app, conversation_id)[-1] == "My kettle"


def test_the_test_button_asks_the_token_endpoint(app, connected, bf):
    with app.app_context():
        said = connections.check("bfbot", "teams")
        assert "accepted the app id and password" in said and ENDPOINT in said
        connections.edit("bfbot", "teams", secrets={"appPassword": "wrong-password"})
        with pytest.raises(PlatformError, match="refused the app id and password .*Invalid client secret"):
            connections.check("bfbot", "teams")


def test_the_app_password_is_a_bot_secret_bound_to_the_token_endpoint(app, connected, bf, httpserver):
    with app.app_context():
        assert bot_secrets.addresses("bfbot") == {"botframework.appPassword": bf.token_endpoint}
        shown = connections.get("bfbot", "teams")
        assert APP_PASSWORD not in str(shown) and shown["settings"]["appId"] == APP_ID
        # Pointed at another token endpoint, the password does not follow: it must be entered again.
        elsewhere = httpserver.url_for("/elsewhere/token")
        with pytest.raises(PlatformError, match="entered for another token endpoint; enter it again"):
            connections.edit("bfbot", "teams", settings={"tokenEndpoint": elsewhere})
        connections.edit("bfbot", "teams", settings={"tokenEndpoint": elsewhere}, secrets={"appPassword": "pw-2"})
        assert bot_secrets.addresses("bfbot") == {"botframework.appPassword": elsewhere}
        with pytest.raises(PlatformError, match="has a Microsoft Bot Framework connection already"):
            connections.create("bfbot", "teams-2", "Again", "", kind="botframework", settings=bf.settings(),
                               secrets={"appPassword": APP_PASSWORD})
        connections.delete("bfbot", "teams")
        assert bot_secrets.names("bfbot") == []


@pytest.mark.parametrize("settings, secrets, says", [
    ({}, {"appPassword": "x"}, "The app id is the bot's Microsoft App ID"),
    ({"appId": APP_ID}, {}, "Give the app password"),
    ({"appId": APP_ID, "tenant": "not a tenant"}, {"appPassword": "x"}, "The tenant is"),
    ({"appId": APP_ID, "issuer": "api.botframework.com"}, {"appPassword": "x"}, "The issuer is an address"),
    ({"appId": APP_ID, "tokenEndpoint": "ftp://x"}, {"appPassword": "x"}, "The token endpoint is an address"),
])
def test_bad_settings_are_refused_saying_what_to_change(app, settings, secrets, says):
    with app.app_context():
        import_bot(BOT, publish=True)
        with pytest.raises(PlatformError, match=says):
            connections.create("bfbot", "teams", "Teams", "", kind="botframework", settings=settings, secrets=secrets)


def test_the_defaults_are_microsofts_public_values_and_a_tenant_picks_its_token_endpoint(app):
    with app.app_context():
        import_bot(BOT, publish=True)
        made = connections.create("bfbot", "teams", "Teams", "", kind="botframework",
                                  settings={"appId": APP_ID, "tenant": "contoso.onmicrosoft.com"},
                                  secrets={"appPassword": APP_PASSWORD})
    assert made.connection["settings"] == {
        "appId": APP_ID, "tenant": "contoso.onmicrosoft.com", "issuer": "https://api.botframework.com",
        "openIdMetadataUrl": "https://login.botframework.com/v1/.well-known/openidconfiguration",
        "tokenEndpoint": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"}


@pytest.mark.parametrize("body, says", [
    (["a list"], "not a Bot Framework activity"),
    ({"type": "message", "text": "hi", "channelId": CHANNEL}, 'needs "serviceUrl"'),
])
def test_a_malformed_activity_is_400_saying_what_to_change(app, client, connected, bf, body, says):
    answer = client.post(ENDPOINT, json=body, headers={"Authorization": f"Bearer {bf.token()}"})
    assert answer.status_code == 400 and says in answer.json["error"]["message"]


@pytest.mark.parametrize("change, says", [
    ({"text": None}, 'A message needs "text", a "value"'),
    ({"conversation": {"id": ""}}, '"conversation.id" must be a string'),
    ({"conversation": None}, 'lacks "conversation"'),
    ({"recipient": {"id": 7}}, '"recipient.id"'),
])
def test_a_signed_but_malformed_message_is_400_and_nothing_is_stored(app, client, connected, bf, change, says):
    answer = post(client, bf, {**bf.message("hi", "m1"), **change})
    assert answer.status_code == 400 and says in answer.json["error"]["message"], answer.json
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_a_bot_without_a_bot_framework_connection_is_404_in_json(client, bf):
    answer = client.post("/b/nobot/botframework/messages", json=bf.message("hi", "m1"),
                         headers={"Authorization": f"Bearer {bf.token()}"})
    assert answer.status_code == 404 and "no Microsoft Bot Framework connection" in answer.json["error"]["message"]


def test_an_issuer_whose_keys_cannot_be_read_is_503_so_the_channel_sends_again(app, client, bf, httpserver):
    httpserver.expect_request("/bf/gone").respond_with_data("gone", status=404)
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("bfbot", "teams", "Teams", "", kind="botframework",
                           settings={**bf.settings(), "openIdMetadataUrl": httpserver.url_for("/bf/gone")},
                           secrets={"appPassword": APP_PASSWORD})
    answer = post(client, bf, bf.message("hi", "m1"))
    assert answer.status_code == 503 and answer.json["error"]["code"] == "ServiceUnavailable"
    assert "Could not read the issuer's signing keys" in answer.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0
