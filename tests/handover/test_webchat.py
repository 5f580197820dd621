"""Handover seen from a Direct Line client: the agent's messages and the notices arrive as the bot's messages
do (WebChat shows them), the user's messages while an agent has the conversation get no bot answer."""

from __future__ import annotations

from runtime.store import handovers
from tests.directline_client import Chat, secret_of, texts

ALICE = {"id": "7", "name": "Alice"}


def test_a_webchat_user_is_handed_over_talks_with_an_agent_and_gets_the_bot_back(app, client, bots):
    bots.load("help-desk")
    chat = Chat.generate(client, secret_of(app, "help-desk"))
    assert texts(chat.poll()) == ["Hi! What is your name?"]
    assert texts(chat.say("Eva")) == ["How can I help, Eva?"]
    assert texts(chat.say("Talk to a person")) == ["Connecting you with a person..."]
    assert texts(chat.say("Hello?")) == []  # the agents have it; the bot says nothing

    with app.app_context():
        session = handovers.open_of(chat.conversation_id).id
        handovers.accept(session, ALICE)
        handovers.post(session, ALICE, "Hi Eva, Alice here. <script>alert(1)</script>")
    seen = chat.poll()
    assert texts(seen) == ["Alice joined the conversation.", "Hi Eva, Alice here. <script>alert(1)</script>"]
    joined, reply = seen
    assert joined["channelData"]["arbor"]["notice"] == "agent-joined"
    assert reply["from"] == {"id": "agent:7", "name": "Alice", "role": "bot"} and reply["textFormat"] == "plain"
    assert reply["conversation"] == {"id": chat.conversation_id}  # the bot's conversation id stays

    assert texts(chat.say("Thanks Alice")) == []
    with app.app_context():
        handovers.close(session, by=ALICE)
    assert texts(chat.poll()) == ["Alice left the conversation.", "Welcome back, Eva. Anything else?",
                                  "Type anything."]
    stamps = [a["timestamp"] for a in chat.get("").get_json()["activities"]]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # WebChat orders by them
