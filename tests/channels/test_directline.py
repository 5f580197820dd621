"""The Direct Line API as DirectLineJS and WebChat drive it: tokens, polling, posting, echoes, errors."""

from __future__ import annotations

import logging

import pytest
from directline_client import DL, Chat, bearer, moment, secret_of, texts, user_of
from sqlalchemy import select

from runtime.extensions import db
from runtime.store.models import BotUser, TranscriptEntry


@pytest.fixture
def secret(app, bots):
    bots.load("dl-shop")
    return secret_of(app, "dl-shop")


@pytest.fixture
def chat(client, secret):
    return Chat.generate(client, secret)


def test_the_full_flow_as_directlinejs_does_it(client, secret):
    chat = Chat.generate(client, secret, {"user": {"id": "dl_eva", "name": "Eva"}})
    assert chat.user_id == "dl_eva"  # WebChat talks as the token's user

    greeting = chat.poll()  # the first poll, with an empty watermark
    assert texts(greeting) == ["Hi there!", "What next?"]
    assert chat.watermark == "2"
    choice = greeting[-1]
    assert choice["suggestedActions"] == {"to": ["dl_eva"], "actions": [
        {"type": "imBack", "title": "Plans", "value": "Plans"}, {"type": "imBack", "title": "Echo", "value": "Echo"}]}
    assert {(a["from"]["role"], a["conversation"]["id"], a["channelId"]) for a in greeting} == \
        {("bot", chat.conversation_id, "webchat")}

    echo_id, sent = chat.send(type="message", text="Plans")  # an imBack button
    echoed, carousel = chat.poll()
    assert echoed["id"] == echo_id == f"{chat.conversation_id}|0000003"
    assert echoed["channelData"] == sent["channelData"] and echoed["from"] == sent["from"]
    assert (echoed["text"], echoed["localTimestamp"]) == ("Plans", sent["localTimestamp"])
    assert moment(carousel) > moment(echoed) > moment(greeting[-1])
    assert carousel["replyToId"] == echo_id and carousel["from"]["role"] == "bot"
    assert carousel["attachmentLayout"] == "carousel" and carousel["text"] == "Our plans"
    basic, pro = carousel["attachments"]
    details = basic["content"]["buttons"][1]["value"]  # link buttons go through the URL tracker's redirect
    assert client.get(details.removeprefix("http://localhost")).headers["Location"] == "https://example.com/basic"
    assert basic == {"contentType": "application/vnd.microsoft.card.hero", "content": {
        "title": "Basic", "subtitle": "5 EUR a month", "images": [{"url": "https://example.com/basic.png"}],
        "buttons": [{"type": "postBack", "title": "Choose Basic", "value": "basic"},
                    {"type": "openUrl", "title": "Details", "value": details}]}}
    assert pro["content"]["title"] == "Pro"

    # WebChat posts a postBack as a message with the value as text and channelData.postBack.
    echo_id, _ = chat.send(type="message", text="pro", channelData={"clientActivityID": "pb-1", "postBack": True})
    echoed, event, said, *again = chat.poll()
    assert echoed["channelData"] == {"clientActivityID": "pb-1", "postBack": True}
    assert (event["type"], event["name"], event["value"]) == ("event", "plan-chosen", {"plan": "pro"})
    assert (event["replyToId"], event["from"]["role"]) == (echo_id, "bot")
    assert said["text"] == "Pro it is." and texts(again) == ["Hi there!", "What next?"]
    assert chat.poll() == [] and chat.watermark == str(len(db_transcript(chat)))


def db_transcript(chat: Chat) -> list:
    with chat.client.application.app_context():
        return list(db.session.scalars(select(TranscriptEntry).where(
            TranscriptEntry.conversation_id == chat.conversation_id)))


def test_a_postback_value_that_is_not_text(chat):
    chat.say("Plans")
    chat.send(type="message", value="basic", channelData={"clientActivityID": "pb-2", "postBack": True})
    assert "Basic it is." in texts(chat.poll())


def test_starting_with_the_secret_answers_201_and_a_token(client, secret):
    started = client.post(f"{DL}/conversations", headers=bearer(secret), json={"user": {"id": "r_abc"}})
    assert started.status_code == 201
    answer = started.get_json()
    assert set(answer) == {"conversationId", "token", "expires_in", "streamUrl"} and answer["expires_in"] == 1800
    assert answer["streamUrl"].startswith(f"ws://localhost{DL}/conversations/{answer['conversationId']}/stream?t=")
    assert user_of(answer["token"]) == "r_abc"  # the secret holder names the user
    with_secret = Chat(client, secret, answer["conversationId"], "r_abc")
    assert texts(with_secret.poll()) == ["Hi there!", "What next?"]
    again = client.post(f"{DL}/conversations", headers=bearer(answer["token"]))
    assert again.status_code == 200 and again.get_json()["conversationId"] == answer["conversationId"]


def test_resume_a_conversation_after_a_page_reload(client, chat):
    chat.poll()
    resumed = client.get(f"{DL}/conversations/{chat.conversation_id}?watermark={chat.watermark}",
                         headers=bearer(chat.token))
    assert resumed.status_code == 200
    assert resumed.get_json()["conversationId"] == chat.conversation_id
    reloaded = Chat(client, resumed.get_json()["token"], chat.conversation_id, chat.user_id)
    reloaded.watermark = chat.watermark
    assert texts(reloaded.say("Echo")) == ["Say something."]


def test_a_repeated_post_is_applied_once(app, bots, client):
    bots.load("counter")
    chat = Chat.generate(client, secret_of(app, "counter"))
    chat.poll()
    activity = {"type": "message", "text": "one", "from": {"id": chat.user_id, "role": "user"},
                "channelData": {"clientActivityID": "same"}}
    first, second = chat.post(activity), chat.post(activity)
    assert first.get_json() == second.get_json() == {"id": f"{chat.conversation_id}|0000002"}
    assert texts(chat.poll()) == ["Got one", "Say something."]
    without_client_id = {"type": "message", "text": "two", "id": "client-side-id"}
    assert chat.post(without_client_id).get_json() == chat.post(without_client_id).get_json()
    with app.app_context():
        assert db.session.get(BotUser, ("counter", chat.user_id)).data["count"] == 2


def test_the_init_event_merges_the_pages_data(app, client, chat):
    chat.poll()
    echo_id, sent = chat.send(type="event", name="arbor/init", value={"name": "Eva", "plan": {"id": 7}})
    (echoed,) = chat.poll()  # an event the bot does not wait for: echoed, nothing answered
    assert (echoed["id"], echoed["type"], echoed["name"], echoed["value"]) == \
        (echo_id, "event", "arbor/init", sent["value"])
    assert echoed["channelData"] == sent["channelData"]
    chat.send(type="event", name="webchat/join", value={"language": "cs"})
    chat.poll()
    assert texts(chat.say("Echo")) == ["Say something."]
    assert texts(chat.say("hi")) == ["Eva said: hi", "Hi Eva!", "What next?"]
    with app.app_context():
        assert db.session.get(BotUser, ("dl-shop", chat.user_id)).data == {
            "name": "Eva", "plan": {"id": 7}, "language": "cs", "topic": "echo", "said": "hi"}


def test_user_data_given_at_start_reaches_the_greeting(client, secret):
    chat = Chat.generate(client, secret, {"userData": {"name": "Adam"}})
    assert texts(chat.poll())[0] == "Hi Adam!"


def test_markup_in_messages_stays_text(chat):
    chat.poll()
    chat.say("Echo")
    script = "<script>alert('x')</script>"
    chat.send(type="message", text=script)
    response = chat.get()
    assert response.mimetype == "application/json"
    echoed, reply, *_ = response.get_json()["activities"]
    assert echoed["text"] == script
    assert reply["text"] == f"You said: {script}"


def test_activities_of_other_types_are_ignored_and_logged(chat, caplog):
    chat.poll()
    caplog.set_level(logging.INFO, logger="runtime.channels.directline.inbound")
    response = chat.post({"type": "conversationUpdate", "from": {"id": chat.user_id}})
    assert response.status_code == 200 and response.get_json() == {"id": ""}
    assert "ignored an activity of type 'conversationUpdate'" in caplog.text
    typing = chat.post({"type": "typing", "from": {"id": chat.user_id}})  # for an agent watching: never kept
    assert typing.status_code == 200 and typing.get_json() == {"id": ""}
    assert chat.poll() == []


@pytest.mark.parametrize(("body", "says"), [
    ([{"type": "message"}], "must be a JSON object"),
    ({"text": "no type"}, 'with a "type"'),
    ({"type": "message"}, 'needs "text" or a "value"'),
    ({"type": "event", "value": 1}, 'needs a "name"'),
    ({"type": "event", "name": "arbor/init", "value": [1]}, "must be an object"),
    ({"type": "message", "text": "hi", "from": "me"}, '"from" must be an object'),
    ({"type": "message", "text": 5}, '"text" must be a string'),
    ({"type": "message", "text": "hi", "channelData": {"clientActivityID": "x" * 256}}, "1 to 255 printable"),
])
def test_a_body_that_is_not_an_activity_is_refused_with_what_to_change(chat, body, says):
    response = chat.post(body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "BadArgument" and says in error["message"]


def test_bodies_not_json_or_too_large_are_refused(client, chat):
    not_json = client.post(chat.url, headers={**bearer(chat.token), "Content-Type": "application/json"},
                           data="{not json")
    assert not_json.status_code == 400 and "JSON object" in not_json.get_json()["error"]["message"]
    too_deep = client.post(chat.url, headers=bearer(chat.token), data="[" * 30_000 + "]" * 30_000)
    assert too_deep.status_code == 400
    nul = chat.post({"type": "message", "text": "a\x00b"})  # PostgreSQL cannot store it
    assert nul.status_code == 400 and "NUL" in nul.get_json()["error"]["message"]
    assert client.get(f"{DL}/conversations/%00/activities", headers=bearer(chat.token)).status_code == 403
    large = chat.post({"type": "message", "text": "x" * 70_000})
    assert large.status_code == 413
    assert large.get_json()["error"]["code"] == "BodyTooLarge"


@pytest.mark.parametrize("watermark", ["abc", "-1", "1.5", "9" * 12])
def test_a_watermark_that_is_not_a_number(chat, watermark):
    response = chat.get(watermark)
    assert response.status_code == 400
    assert "watermark must be the number" in response.get_json()["error"]["message"]


def test_a_watermark_past_the_end_gives_the_conversations_end(chat):
    response = chat.get("999")
    assert response.get_json() == {"activities": [], "watermark": "2"}
