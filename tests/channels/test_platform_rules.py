"""Each connection's rule decides who answers its users: the bot first then agents after a handover step
(bot-first), agents only (agent), or the bot only (bot). Agents act through the handover store as the
console does; what they say reaches the platform like the bot's messages."""

from __future__ import annotations

import pytest
from platform_samples import HELP_BOT, message

from runtime.channels.platforms import connections
from runtime.store import handovers
from runtime.store.bots import import_bot
from runtime.turns.transcript import transcript

ANA = {"id": 7, "name": "Ana"}


@pytest.fixture
def connect(app, receiver):
    def made(rule: str) -> str:
        with app.app_context():
            import_bot(HELP_BOT, publish=True)
            return connections.create("hbot", "sms", "SMS", receiver.url, rule=rule).token
    return made


def say(client, token, text: str, message_id: str) -> str:
    answer = client.post("/b/hbot/hooks/sms", json=message(text, message_id), headers={"X-Verification-Token": token})
    assert answer.status_code == 200, answer.json
    return answer.json["conversationId"]


def sent(receiver) -> list[tuple[str, str]]:
    return [(body["from"]["role"], body["text"]) for _, _, body in receiver.requests]


def test_bot_first_the_bot_answers_until_a_handover_then_the_agent_until_closed(app, client, connect, jobs,
                                                                                receiver):
    token = connect("bot-first")
    conversation_id = say(client, token, "Person", "m1")
    assert say(client, token, "Is anyone there?", "m2") == conversation_id
    jobs.drain()
    assert sent(receiver) == [("bot", "Hi, I am the bot."), ("bot", "What do you need?"),
                              ("bot", "Connecting you to a person.")]  # the bot keeps quiet while people have it
    with app.app_context():
        session = handovers.open_of(conversation_id)
        assert session.queue == "support"
        handovers.accept(session.id, ANA)
        handovers.post(session.id, ANA, "Hi, Ana here. How can I help?")
        handovers.close(session.id, by=ANA)
    assert say(client, token, "Nothing, thanks", "m3") == conversation_id  # the same conversation throughout
    jobs.drain()
    assert sent(receiver)[3:] == [("bot", "Ana joined the conversation."), ("agent", "Hi, Ana here. How can I help?"),
                                  ("bot", "Ana left the conversation."), ("bot", "Anything else?"),
                                  ("bot", "Noted: Nothing, thanks")]
    assert {body["conversationId"] for _, _, body in receiver.requests} == {conversation_id}
    assert receiver.requests[3][2]["notice"] == "agent-joined"
    with app.app_context():  # the bot's transcript holds the whole exchange
        said = [row.get("text") for row in transcript(conversation_id) if row["type"] == "message"]
    assert "Is anyone there?" in said and "Hi, Ana here. How can I help?" in said


def test_agent_every_message_goes_to_people_and_the_bot_never_answers(app, client, connect, jobs, receiver):
    token = connect("agent")
    conversation_id = say(client, token, "Hello", "m1")
    with app.app_context():
        first = handovers.open_of(conversation_id)
        assert first is not None and first.queue is None
        first_id = first.id
        handovers.accept(first_id, ANA)
        handovers.post(first_id, ANA, "Ana here.")
        handovers.close(first_id, by=ANA)
    assert say(client, token, "Hello", "m1") == conversation_id  # a repeat of the first: no new session
    with app.app_context():
        assert handovers.open_of(conversation_id) is None
    assert say(client, token, "One more thing", "m2") == conversation_id
    with app.app_context():
        second = handovers.open_of(conversation_id)
        assert second is not None and second.id != first_id  # a new agent session, the same conversation
        said = [(row["from"].get("role"), row.get("text")) for row in transcript(conversation_id)]
    assert ("user", "Hello") in said and ("user", "One more thing") in said
    jobs.drain()
    assert sent(receiver) == [("bot", "Ana joined the conversation."), ("agent", "Ana here."),
                              ("bot", "Ana left the conversation.")]  # nothing from the bot itself


def test_bot_a_handover_step_is_closed_at_once_and_the_bot_goes_on(app, client, connect, jobs, receiver, caplog):
    caplog.set_level("INFO", logger="runtime.channels.platforms.rules")
    token = connect("bot")
    conversation_id = say(client, token, "Person", "m1")
    with app.app_context():
        assert handovers.open_of(conversation_id) is None
    assert say(client, token, "Cheers", "m2") == conversation_id
    jobs.drain()
    assert sent(receiver) == [("bot", "Hi, I am the bot."), ("bot", "What do you need?"),
                              ("bot", "Connecting you to a person."), ("bot", "Anything else?"),
                              ("bot", "Noted: Cheers")]
    assert "keeps its conversations with the bot: closed handover" in caplog.text
