"""Handover notices in the conversation's language (issue 20): an agent joining and leaving a Czech conversation
of the support example is announced in Czech, an English one in English."""

from __future__ import annotations

import pytest

from runtime.steps.base import Input
from runtime.store import handovers
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

AGENT = {"id": "7", "name": "Alice"}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.mark.parametrize("language, person, joined, left", [
    ("cs", "Mluvit s člověkem", "Alice se připojuje ke konverzaci.", "Alice opouští konverzaci."),
    ("en", "Talk to a person", "Alice joined the conversation.", "Alice left the conversation."),
])
def test_an_agent_is_announced_in_the_conversations_language(bots, ctx, language, person, joined, left):
    bots.load("support")
    conversation, _ = start_conversation("support", "u1", "webchat", languages=[language])
    handle(conversation.id, Input.message(person))
    session = handovers.open_of(conversation.id)
    handovers.accept(session.id, AGENT)
    said = handovers.close(session.id, by=AGENT)
    assert said[0]["text"] == left
    notices = [a["text"] for a in transcript(conversation.id)
               if "notice" in a.get("channelData", {}).get("arbor", {})]
    assert notices == [joined, left]
