"""Handover sessions in the store: the step opens one, the user's messages go to the agent, the agent's
messages and notices land in the transcript in order, closing gives the conversation back to the bot."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import handovers
from runtime.store.models import Conversation, HandoverSession
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

AGENT = {"id": "7", "name": "Alice"}
OTHER = {"id": "8", "name": "Bob"}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def texts(activities: list[dict]) -> list[str]:
    return [a["text"] for a in activities if a.get("type") == "message"]


def handed_over(bots) -> str:
    """A conversation of the help-desk bot that has just been handed to people; its id."""
    bots.load("help-desk")
    conversation, _ = start_conversation("help-desk", "u1", "webchat")
    handle(conversation.id, Input.message("Eva"))
    said = handle(conversation.id, Input.message("Talk to a person"))
    assert texts(said) == ["Connecting you with a person..."]
    return conversation.id


def test_the_step_opens_a_session_and_the_user_talks_to_people_not_the_bot(bots, ctx):
    conversation_id = handed_over(bots)
    session = handovers.open_of(conversation_id)
    assert (session.status, session.queue, session.step_id, session.user_id) == ("waiting", "support", "w4", "u1")
    assert [s.id for s in handovers.listed(["help-desk"])] == [session.id]

    assert handle(conversation_id, Input.message("Is anyone there?")) == []
    assert handle(conversation_id, Input.event("page-viewed", {"path": "/cart"})) == []
    rows = transcript(conversation_id)
    assert rows[-2]["text"] == "Is anyone there?" and rows[-1]["name"] == "page-viewed"


def test_accept_reply_close_and_the_bot_takes_over_with_the_whole_exchange_kept(bots, ctx):
    conversation_id = handed_over(bots)
    session = handovers.open_of(conversation_id)
    handle(conversation_id, Input.message("I need help with my order"))

    accepted = handovers.accept(session.id, AGENT)
    assert (accepted.status, accepted.agent_name) == ("active", "Alice")
    reply = handovers.post(session.id, AGENT, "Hello Eva, I am looking at it.")
    assert reply["from"] == {"id": "agent:7", "name": "Alice", "role": "bot"}
    handle(conversation_id, Input.message("Thanks!"))

    said = handovers.close(session.id, by=AGENT)
    assert texts(said) == ["Alice left the conversation.", "Welcome back, Eva. Anything else?", "Type anything."]
    assert handovers.get(session.id).status == "closed" and handovers.open_of(conversation_id) is None

    everything = [(a["from"].get("role"), a.get("text")) for a in transcript(conversation_id) if a["type"] == "message"]
    assert everything[-7:] == [
        ("user", "I need help with my order"), ("bot", "Alice joined the conversation."),
        ("bot", "Hello Eva, I am looking at it."), ("user", "Thanks!"), ("bot", "Alice left the conversation."),
        ("bot", "Welcome back, Eva. Anything else?"), ("bot", "Type anything.")]
    notices = [a["channelData"]["arbor"]["notice"] for a in transcript(conversation_id)
               if "notice" in a.get("channelData", {}).get("arbor", {})]
    assert notices == ["agent-joined", "agent-left"]
    # The bot is back: the user's next message answers its question.
    assert db.session.scalar(select(Conversation.handover_id).where(Conversation.id == conversation_id)) is None
    handle(conversation_id, Input.message("no thanks"))
    assert handovers.user_data(handovers.get(session.id))["anything"] == "no thanks"


def test_every_handover_gets_its_own_agent_conversation_id_and_the_bot_id_stays(bots, ctx):
    conversation_id = handed_over(bots)
    first = handovers.open_of(conversation_id)
    handovers.accept(first.id, AGENT)
    handovers.close(first.id, by=AGENT)
    handle(conversation_id, Input.message("anything"))  # back: the question is answered, the welcome loops
    handle(conversation_id, Input.message("Eva"))
    handle(conversation_id, Input.message("Talk to a person"))
    second = handovers.open_of(conversation_id)
    assert second.id != first.id and second.conversation_id == first.conversation_id == conversation_id


def test_a_closed_session_takes_no_more_messages_and_cannot_be_closed_twice(bots, ctx):
    session = handovers.open_of(handed_over(bots))
    with pytest.raises(handovers.NotAccepted):
        handovers.post(session.id, AGENT, "Hi")
    handovers.accept(session.id, AGENT)
    handovers.close(session.id, by=AGENT)
    assert (handovers.get(session.id).close_reason, handovers.get(session.id).timeout) == ("agent", None)
    with pytest.raises(handovers.HandoverClosed, match="closed by Alice"):
        handovers.post(session.id, AGENT, "Still there?")
    with pytest.raises(handovers.HandoverClosed):
        handovers.close(session.id, by=AGENT)
    with pytest.raises(handovers.HandoverClosed):
        handovers.accept(session.id, OTHER)


def test_only_the_agent_who_accepted_replies_and_empty_or_huge_messages_are_refused(bots, ctx):
    session = handovers.open_of(handed_over(bots))
    handovers.accept(session.id, AGENT)
    with pytest.raises(handovers.AlreadyTaken, match="Alice accepted"):
        handovers.post(session.id, OTHER, "Hi, Bob here")
    with pytest.raises(handovers.HandoverError, match="Write a message"):
        handovers.post(session.id, AGENT, "   ")
    with pytest.raises(handovers.HandoverError, match="at most 4000"):
        handovers.post(session.id, AGENT, "x" * 5000)
    with pytest.raises(handovers.HandoverNotFound):
        handovers.accept("nope", AGENT)


def test_two_agents_accepting_at_once_one_wins_and_the_other_is_told(bots, app, ctx):
    session_id = handovers.open_of(handed_over(bots)).id
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def take(agent: dict) -> None:
        with app.app_context():
            barrier.wait()
            try:
                handovers.accept(session_id, agent)
                outcomes.append("won")
            except handovers.AlreadyTaken as e:
                outcomes.append(str(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=take, args=(agent,)) for agent in (AGENT, OTHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[-1] == "won" and outcomes.count("won") == 1
    winner = handovers.get(session_id).agent_name
    assert [o for o in outcomes if o != "won"] == [f"{winner} accepted this conversation already."]
    joined = [a for a in transcript(handovers.get(session_id).conversation_id) if "joined" in (a.get("text") or "")]
    assert len(joined) == 1


def test_a_trigger_from_outside_gives_the_conversation_back_to_the_bot(bots, ctx):
    conversation_id = handed_over(bots)
    session = handovers.open_of(conversation_id)
    said = handle(conversation_id, Input.event("promo"))
    assert said == []  # a page event while a person has the user: kept for the agent, not a trigger
    said = handle(conversation_id, Input.trigger("promo"))
    assert texts(said)[:2] == ["The bot took over the conversation again.", "Today only: free coffee."]
    assert handovers.get(session.id).closed_by == "bot" and handovers.open_of(conversation_id) is None
    assert handovers.get(session.id).close_reason == "trigger"


def test_a_connection_can_open_a_session_without_a_step_and_closing_it_resumes_nothing(bots, ctx):
    bots.load("help-desk")
    conversation, _ = start_conversation("help-desk", "u2", "webchat")
    session = handovers.open(conversation.id, queue="billing")
    assert handovers.open(conversation.id).id == session.id  # the open one, not a second
    assert (session.step_id, session.queue) == (None, "billing")
    assert handle(conversation.id, Input.message("Eva")) == []
    handovers.accept(session.id, AGENT)
    assert texts(handovers.close(session.id, by=AGENT)) == ["Alice left the conversation."]
    assert texts(handle(conversation.id, Input.message("Eva")))[0] == "How can I help, Eva?"


def test_a_start_dialog_that_hands_over_at_once_opens_the_session_with_the_conversation(bots, ctx):
    doc = bots.load("help-desk")
    doc["dialogs"][0]["steps"].insert(0, {"id": "w0", "type": "handover", "queue": "vip", "timeout": 300})
    from runtime.store import bots as store
    store.import_bot(doc)
    store.publish("help-desk")
    conversation, said = start_conversation("help-desk", "u3", "webchat")
    session = db.session.scalar(select(HandoverSession).where(HandoverSession.conversation_id == conversation.id))
    assert (said, session.queue, session.status, session.timeout) == ([], "vip", "waiting", 300)
    assert handovers.open_of(conversation.id).id == session.id


def test_two_messages_opening_a_session_at_once_share_one(bots, app, ctx):
    bots.load("help-desk")
    conversation_id = start_conversation("help-desk", "u4", "webchat")[0].id
    db.session.commit()
    opened: list[str] = []
    barrier = threading.Barrier(4)

    def open_one() -> None:
        with app.app_context():
            barrier.wait()
            opened.append(handovers.open(conversation_id).id)
            db.session.remove()

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(opened)) == 1 and len(opened) == 4
    assert [s.id for s in handovers.listed(["help-desk"])] == opened[:1]


def with_timeout(bots) -> None:
    """The help-desk bot whose handover gives up after two minutes without an agent."""
    from runtime.store import bots as store
    doc = bots.load("help-desk")
    step = doc["dialogs"][0]["steps"][1]["options"][1]["steps"][0]
    step.update(timeout=120, onTimeout=[{"id": "t1", "type": "message", "text": "Nobody is free right now."}])
    store.import_bot(doc)
    store.publish("help-desk")


def later(minutes: float):
    from datetime import UTC, datetime, timedelta
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_nobody_accepting_in_time_ends_the_handover_and_the_bot_says_so(bots, ctx, jobs):
    with_timeout(bots)
    conversation, _ = start_conversation("help-desk", "u5", "webchat")
    handle(conversation.id, Input.message("Eva"))
    handle(conversation.id, Input.message("Talk to a person"))
    conversation_id = conversation.id
    session = handovers.open_of(conversation_id)
    assert session.timeout == 120  # what the step waits, kept with the session: the console shows it
    assert len(jobs.scheduled()) == 1
    assert jobs.drain(until=later(1)) == 0
    jobs.drain(until=later(3))
    ended = handovers.get(session.id)
    assert (ended.status, ended.close_reason, ended.closed_by, ended.agent_id) == ("closed", "timeout", "timeout", None)
    assert handovers.as_json(ended)["closeReason"] == "timeout" and handovers.as_json(ended)["timeout"] == 120
    said = [a.get("text") for a in transcript(conversation_id) if a["type"] == "message"]
    assert said[-2:] == ["Nobody is free right now.", "Hi! What is your name?"]  # then the welcome loops
    assert handovers.open_of(conversation_id) is None
    with pytest.raises(handovers.HandoverClosed, match="Nobody accepted this handover in time, so the bot went on"):
        handovers.accept(session.id, AGENT)


def test_an_accepted_handover_does_not_time_out(bots, ctx, jobs):
    with_timeout(bots)
    conversation, _ = start_conversation("help-desk", "u6", "webchat")
    handle(conversation.id, Input.message("Eva"))
    handle(conversation.id, Input.message("Talk to a person"))
    session = handovers.open_of(conversation.id)
    handovers.accept(session.id, AGENT)
    assert jobs.scheduled() == []  # accepting cancelled the timer
    jobs.drain(until=later(10))
    assert handovers.get(session.id).status == "active"


def test_a_wait_past_its_timeout_whose_timer_has_not_run_is_overdue(bots, ctx, jobs):
    """The timer that ends an unaccepted handover is a background job: while the worker is down or behind, the
    session stays waiting past its timeout, and is overdue; a handover with no timeout never is."""
    with_timeout(bots)
    conversation, _ = start_conversation("help-desk", "u7", "webchat")
    handle(conversation.id, Input.message("Eva"))
    handle(conversation.id, Input.message("Talk to a person"))
    session = handovers.open_of(conversation.id)
    assert handovers.due_at(session) == session.created_at + timedelta(seconds=120)
    assert not handovers.overdue(session, later(1.9)) and handovers.overdue(session, later(2.1))
    assert handovers.get(session.id).status == "waiting"  # no job ran: nothing ended it
    handovers.accept(session.id, AGENT)
    assert not handovers.overdue(handovers.get(session.id), later(10))  # accepted: nobody waits any more

    forever = handovers.open_of(handed_over(bots))  # the fixture's step has no timeout
    assert forever.timeout is None and handovers.due_at(forever) is None
    assert not handovers.overdue(forever, later(60 * 24 * 7))


def test_an_agent_named_like_the_reasons_closes_as_an_agent(bots, ctx):
    """Who closed it (`closed_by`) is a name, and an agent may be called "timeout": the reason is kept apart."""
    session = handovers.open_of(handed_over(bots))
    handovers.close(session.id, by={"id": "x", "name": "timeout"})
    closed = handovers.get(session.id)
    assert (closed.closed_by, closed.close_reason) == ("timeout", "agent")
    with pytest.raises(handovers.HandoverClosed, match="This handover was closed by timeout"):
        handovers.accept(session.id, AGENT)


def test_the_migration_tells_why_the_sessions_closed_before_it_did(bots, ctx):
    """Before the reason had a column of its own the store wrote "timeout" or "bot" as who closed a session:
    the migration reads those; anyone else who closed one was an agent. A waiting session has no reason."""
    from flask_migrate import downgrade, upgrade
    ids = [handovers.open_of(handed_over(bots)).id for _ in range(4)]
    db.session.commit()
    db.session.remove()
    downgrade(revision="d41f0c6a2b57")
    for session_id, by in zip(ids, ("timeout", "bot", "Alice"), strict=False):
        db.session.execute(text("UPDATE handover_sessions SET status = 'closed', closed_by = :by WHERE id = :id"),
                           {"by": by, "id": session_id})
    db.session.commit()
    db.session.remove()
    upgrade()
    reasons = [handovers.get(session_id).close_reason for session_id in ids]
    assert reasons == ["timeout", "trigger", "agent", None]
    assert handovers.get(ids[0]).timeout is None  # not recorded before: unknown
