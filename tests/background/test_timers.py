"""Timers of wait steps on real Redis, with the scheduler's clock in the test's hands (`jobs.drain(until=...)`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runtime.extensions import db
from runtime.jobs import timers
from runtime.steps.base import Input
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

TIMED_OUT = "Sorry, the transfer could not be completed."


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def texts(app, conversation_id: str) -> list[str]:
    with app.app_context():
        return [a.get("text") for a in transcript(conversation_id) if a.get("from", {}).get("role") == "bot"]


def start(app, bots) -> str:
    bots.load("loyalty-transfer")
    with app.app_context():
        conversation, _ = start_conversation("loyalty-transfer", "u1", "webchat")
        return conversation.id


def test_the_transfer_times_out_when_no_trigger_comes(app, bots, jobs):
    conversation_id = start(app, bots)
    assert [job_id for job_id, _ in jobs.scheduled()] == [timers.job_id(conversation_id, "t2")]
    assert jobs.drain(until=later(9)) == 0  # not yet
    assert TIMED_OUT not in texts(app, conversation_id)
    assert jobs.drain(until=later(11)) == 1
    assert texts(app, conversation_id)[-2:] == [TIMED_OUT, "Anything else?"]


def test_a_trigger_that_comes_first_cancels_the_timer(app, bots, jobs):
    conversation_id = start(app, bots)
    with app.app_context():
        handle(conversation_id, Input.trigger("transfer-complete", {"credits": 120}, clear=True))
    assert jobs.scheduled() == []
    assert jobs.drain(until=later(60)) == 0
    assert texts(app, conversation_id)[-1] == "Done: 120 credits arrived."
    assert TIMED_OUT not in texts(app, conversation_id)


def test_the_error_trigger_also_cancels_it(app, bots, jobs):
    conversation_id = start(app, bots)
    with app.app_context():
        handle(conversation_id, Input.trigger("transfer-error", {"reason": "card blocked"}))
    assert jobs.scheduled() == []
    assert texts(app, conversation_id)[-1] == "The transfer failed: card blocked."


def test_a_page_event_that_comes_first_cancels_the_timer(app, bots, jobs):
    conversation_id = start(app, bots)
    with app.app_context():
        handle(conversation_id, Input.event("transfer-complete"))
    assert jobs.scheduled() == []
    assert texts(app, conversation_id)[-2:] == ["The page says: transfer-complete.", "Anything else?"]


def test_a_timer_firing_after_the_conversation_moved_on_does_nothing(app, bots, jobs):
    conversation_id = start(app, bots)
    due = due_of(app, conversation_id)
    with app.app_context():
        handle(conversation_id, Input.event("transfer-error"))
        before = texts(app, conversation_id)
        assert timers.fire(conversation_id, "t2", due) is False  # the cancel lost a race: it fires anyway
    assert texts(app, conversation_id) == before


def due_of(app, conversation_id: str) -> float:
    with app.app_context():
        return db.session.get(timers.ConversationTimer, (conversation_id, "t2")).due.timestamp()


def test_a_timer_times_out_once_even_when_its_job_runs_twice(app, bots, jobs):
    conversation_id = start(app, bots)
    due = due_of(app, conversation_id)
    with app.app_context():
        assert timers.fire(conversation_id, "t2", due) is True
        handle(conversation_id, Input.trigger("transfer", clear=True))  # the wait is entered again
        assert timers.fire(conversation_id, "t2", due) is False  # a retried job of the first timer
    assert texts(app, conversation_id).count(TIMED_OUT) == 1


def test_a_timer_whose_job_was_lost_is_fired_by_the_sweeper(app, bots, jobs):
    conversation_id = start(app, bots)
    with app.app_context():
        timers._unschedule(conversation_id, "t2")  # Redis restarted without its data
        assert timers.sweep() == 0  # not late yet
        timer = db.session.get(timers.ConversationTimer, (conversation_id, "t2"))
        timer.due -= timedelta(minutes=20)  # as if twenty minutes passed
        db.session.commit()
        assert timers.sweep() == 1
    jobs.drain()
    assert texts(app, conversation_id)[-2:] == [TIMED_OUT, "Anything else?"]


def test_a_timer_started_while_redis_is_away_still_fires(app, bots, jobs):
    from app import create_app

    bots.load("loyalty-transfer")
    away = create_app({**app.config, "REDIS_URL": "redis://127.0.0.1:9/0", "AUTO_MIGRATE": False})
    with away.app_context():
        conversation, _ = start_conversation("loyalty-transfer", "u1", "webchat")  # the turn works all the same
    with app.app_context():
        timer = db.session.get(timers.ConversationTimer, (conversation.id, "t2"))
        timer.due -= timedelta(minutes=20)
        db.session.commit()
        assert timers.sweep() == 1
    jobs.drain()
    assert texts(app, conversation.id)[-2] == TIMED_OUT


def test_a_wait_entered_again_replaces_its_timer(app, bots, jobs):
    conversation_id = start(app, bots)
    with app.app_context():
        handle(conversation_id, Input.trigger("transfer", clear=True))
    assert len(jobs.scheduled()) == 1
    assert jobs.drain(until=later(11)) == 1
    assert texts(app, conversation_id).count(TIMED_OUT) == 1
