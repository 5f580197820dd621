"""Async integration steps: the conversation goes on at once; the call runs on RQ (real Redis), its result
is logged and written to the step's storage, or its onError followed, when it arrives."""

from __future__ import annotations

import time

import pytest
from integration_bots import bot, publish
from rq.job import Job
from sqlalchemy import func, select

from app import create_app
from runtime.extensions import db
from runtime.integrations import get
from runtime.integrations.auth import Credentials
from runtime.integrations.calls import CallHttp
from runtime.integrations.runner import run_async
from runtime.jobs import connection, queue
from runtime.steps.base import Input
from runtime.store.integration_log import IntegrationLogEntry
from runtime.store.models import BotUser
from runtime.turns import outbox
from runtime.turns.outbox import PendingEffect
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

pytestmark = pytest.mark.usefixtures("app")
SORRY = {"id": "hook-down", "steps": [{"id": "s1", "type": "message", "text": "We could not pass that on yet."}]}


def hook_bot(url: str, on_error: dict | None = None) -> dict:
    step = {"id": "w", "type": "integration", "use": "hook", "timing": "async", "output": "handedOver",
            "params": {"data": {"email": "{{ email }}"}}, **({"onError": on_error} if on_error else {})}
    return bot([{"id": "q", "type": "question", "text": "E-mail?", "storage": "email"}, step,
                {"id": "m", "type": "message", "text": "Thanks, we will be in touch."},
                {"id": "q2", "type": "question", "text": "Anything else?", "storage": "more"}],
               integrations={"hook": {"template": "webhook", "config": {"url": url}}}, dialogs=[SORRY])


def started(doc: dict) -> str:
    publish(doc)
    conversation, _ = start_conversation("calls", "u1", "test")
    return conversation.id


def test_the_conversation_goes_on_and_the_output_arrives_later(httpserver, jobs):
    httpserver.expect_request("/hook", method="POST", json={"email": "eva@example.com"}).respond_with_json({})
    conversation_id = started(hook_bot(httpserver.url_for("/hook")))
    answer = handle(conversation_id, Input.message("eva@example.com"))
    assert [a["text"] for a in answer] == ["Thanks, we will be in touch.", "Anything else?"]
    assert httpserver.log == [] and "handedOver" not in db.session.get(BotUser, ("calls", "u1")).data
    assert jobs.drain() == 1
    db.session.expire_all()
    assert db.session.get(BotUser, ("calls", "u1")).data["handedOver"] == {"status": 200}
    [row] = db.session.scalars(select(IntegrationLogEntry))
    assert (row.step_id, row.response_status, row.conversation_id) == ("w", 200, conversation_id)


def test_a_failed_async_call_starts_the_on_error_dialog(httpserver, jobs):
    httpserver.expect_request("/hook").respond_with_data("busy", status=503)
    conversation_id = started(hook_bot(httpserver.url_for("/hook"), {"action": "dialog", "dialog": "hook-down"}))
    handle(conversation_id, Input.message("eva@example.com"))
    assert jobs.drain() == 1
    said = [a.get("text") for a in transcript(conversation_id) if a["from"].get("role") == "bot"]
    assert said[-2:] == ["We could not pass that on yet.", "Anything else?"]  # then the question again
    assert "answered 503" in db.session.scalar(select(IntegrationLogEntry.error))


def test_a_failed_async_call_can_flag(httpserver, jobs):
    httpserver.expect_request("/hook").respond_with_data("nope", status=500)
    conversation_id = started(hook_bot(httpserver.url_for("/hook"), {"action": "flag", "storage": "hookFailed"}))
    handle(conversation_id, Input.message("eva@example.com"))
    jobs.drain()
    db.session.expire_all()
    assert db.session.get(BotUser, ("calls", "u1")).data["hookFailed"] is True


def test_an_async_call_its_turn_could_not_queue_is_relayed_and_made_once(httpserver, app, jobs, clock, database):
    """Redis away when the turn ended: the call stays owed in the turns' outbox, written with the turn; once
    Redis is back the relay queues it, and it is made once however often the effect is carried out again."""
    httpserver.expect_request("/hook", method="POST", json={"email": "eva@example.com"}).respond_with_json({})
    conversation_id = started(hook_bot(httpserver.url_for("/hook")))
    down = create_app({"TESTING": True, "ARBOR_DATA": app.config["ARBOR_DATA"], "SECRET_KEY": "test", **database,
                       "REDIS_URL": "redis://127.0.0.1:1/0"})
    with down.app_context():
        answer = handle(conversation_id, Input.message("eva@example.com"))
        assert [a["text"] for a in answer] == ["Thanks, we will be in touch.", "Anything else?"]
        [owed] = db.session.execute(select(PendingEffect.id, PendingEffect.handler)).all()
        assert owed.handler == "runtime.integrations.runner.queued"
        db.engine.dispose()
    db.session.remove()
    assert outbox.relay() == 0  # within its grace the turn's own process may still carry it out
    clock.move_to(clock.later(seconds=outbox.GRACE.total_seconds() + 1))
    assert outbox.relay() == 1
    jobs.drain()
    assert outbox.run(owed.id) is False and jobs.drain() == 0  # delivered again: done already, nothing queued
    assert len(httpserver.log) == 1
    db.session.expire_all()
    assert db.session.get(BotUser, ("calls", "u1")).data["handedOver"] == {"status": 200}
    assert db.session.scalar(select(func.count()).select_from(PendingEffect)) == 0


def test_an_async_call_sends_one_idempotency_key_on_every_try_and_another_per_call(httpserver, jobs):
    """The key is the effect's: a try made again (its worker died) sends the same one, another call another."""
    httpserver.expect_request("/hook", method="POST").respond_with_json({})
    conversation_id = started(hook_bot(httpserver.url_for("/hook")))
    handle(conversation_id, Input.message("eva@example.com"))
    [job_id] = queue("default").job_ids
    assert jobs.drain() == 1
    run_async(*Job.fetch(job_id, connection=connection()).args)  # the same job run again
    other, _ = start_conversation("calls", "u2", "test")
    handle(other.id, Input.message("adam@example.com"))
    assert jobs.drain() == 1
    keys = [request.headers.get("Idempotency-Key") for request, _ in httpserver.log]
    assert keys[:2] == [f"arbor-{job_id.removeprefix('call-')}"] * 2
    assert keys[2].startswith("arbor-") and keys[2] != keys[0] and len(keys) == 3


def test_a_calls_later_posts_get_keys_of_their_own_and_reads_or_a_templates_own_key_get_none(httpserver):
    httpserver.expect_request("/api").respond_with_json({})
    http = CallHttp(get().services.http, Credentials(), time.monotonic() + 5, [], idempotency_key="arbor-e1")
    http.post(httpserver.url_for("/api"), json={})
    http.get(httpserver.url_for("/api"))
    http.patch(httpserver.url_for("/api"), json={})
    http.post(httpserver.url_for("/api"), headers={"idempotency-key": "the-template's"}, json={})
    keys = [(request.method, request.headers.get("Idempotency-Key")) for request, _ in httpserver.log]
    assert keys == [("POST", "arbor-e1"), ("GET", None), ("PATCH", "arbor-e1-2"), ("POST", "the-template's")]
