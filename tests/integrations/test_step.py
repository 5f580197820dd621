"""The integration step through the store: a sync call answers in the same turn, and every bad input of
the issue follows onError with a sensible message, a log row that says what happened, and no crash."""

from __future__ import annotations

import json
import logging

import pytest
from integration_bots import bot, publish
from sqlalchemy import select
from werkzeug import Response

from runtime.extensions import db
from runtime.integrations import runner
from runtime.integrations.runner import MAX_CHAINED
from runtime.management.keys import create_key
from runtime.steps.base import Input
from runtime.store import integration_log
from runtime.store.integration_log import IntegrationLogEntry
from runtime.store.models import BotUser, Conversation
from runtime.store.secrets import set_secret
from runtime.turns import effects
from runtime.turns.effects import Committed
from runtime.turns.turn import handle, start_conversation

pytestmark = pytest.mark.usefixtures("app")

TOKEN = "s3cr3t-T0KEN-value-77"
DOWN = {"id": "crm-down", "steps": [{"id": "d1", "type": "message", "text": "Our CRM is down; we will call you."}]}


def crm_bot(base_url: str, *, on_error: dict | None = None, params: dict | None = None, template="crm-add-contact",
            timeout: float = 3, **extra) -> dict:
    step = {"id": "i1", "type": "integration", "use": "crm", "output": "contact", "timeout": timeout,
            "params": params or {"name": "Eva", "email": "{{ email }}"}}
    if on_error:
        step["onError"] = on_error
    steps = [{"id": "q1", "type": "question", "text": "Your e-mail?", "storage": "email"}, step,
             {"id": "m1", "type": "message", "text": "{{ 'Flagged' if crmFailed else 'Saved as ' ~ contact.id }}"}]
    integration = {"template": template, "config": {"baseUrl": base_url}, "auth": {"type": "bearer"},
                   "secrets": {"token": "crm-token"}, **extra}
    return bot(steps, integrations={"crm": integration}, dialogs=[DOWN])


def say(doc: dict, text: str = "eva@example.com", *, secret: bool = True) -> tuple[str, list[str]]:
    publish(doc)
    if secret:
        set_secret("calls", "crm-token", TOKEN, bound_to=doc["integrations"]["crm"]["config"]["baseUrl"])
    conversation, _ = start_conversation("calls", "u1", "test")
    activities = handle(conversation.id, Input.message(text))
    return conversation.id, [a.get("text") for a in activities if a["type"] == "message"]


def log_rows() -> list[IntegrationLogEntry]:
    return list(db.session.scalars(select(IntegrationLogEntry).order_by(IntegrationLogEntry.id)))


def test_a_sync_call_answers_in_the_same_turn_and_is_logged(httpserver):
    httpserver.expect_request("/api/contacts", method="POST", json={"name": "Eva", "email": "eva@example.com",
                                                                    "note": ""},
                              headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_json({"id": 42}, status=201)
    conversation_id, texts = say(crm_bot(httpserver.url_for("/api")))
    assert texts == ["Saved as 42"]
    assert db.session.get(BotUser, ("calls", "u1")).data["contact"] == {"id": "42"}
    [row] = log_rows()
    assert (row.bot_id, row.user_id, row.conversation_id, row.step_id) == ("calls", "u1", conversation_id, "i1")
    assert (row.method, row.url, row.response_status, row.error) == ("POST", httpserver.url_for("/api/contacts"),
                                                                     201, None)
    assert row.request_headers["Authorization"] == "[redacted]" and json.loads(row.request_body)["name"] == "Eva"
    assert json.loads(row.response_body) == {"id": 42} and row.duration_ms > 0


def test_a_sync_call_carried_out_again_applies_its_result_once(app, httpserver):
    """A sync call's effect carried out a second time (the relay's worker, after the request's process died past
    the call): the outside may see the call again, the conversation gets its result once (the result's turn names
    the effect)."""
    httpserver.expect_request("/api/contacts", method="POST").respond_with_json({"id": 42}, status=201)
    owed = []
    effects.registry(app).after_commit("integration.call", lambda committed, effect: owed.append(
        (committed, effect)), durable=False)
    conversation_id, texts = say(crm_bot(httpserver.url_for("/api")))
    assert texts == ["Saved as 42"]
    [(committed, effect)] = owed
    again = Committed(committed.conversation, [], [effect], committed.at, effect_id="redelivered")
    first = runner.now(again, effect)
    seq = db.session.get(Conversation, conversation_id, populate_existing=True).activity_seq
    assert runner.now(again, effect) == first  # the same answer, not applied again
    assert db.session.get(Conversation, conversation_id, populate_existing=True).activity_seq == seq
    assert len(httpserver.log) == 3 and len(log_rows()) == 2  # made again, but its log rows go with the turn


def test_the_log_filters_by_step_and_failure(httpserver):
    httpserver.expect_request("/api/contacts").respond_with_json({"id": 1})
    say(crm_bot(httpserver.url_for("/api")))
    say(crm_bot("http://10.0.0.5/api", on_error={"action": "flag", "storage": "crmFailed"}))
    assert [r.error is None for r in integration_log.recent("calls")] == [False, True]
    assert [r.response_status for r in integration_log.recent("calls", failed=False, step_id="i1")] == [200]
    assert len(integration_log.recent("calls", failed=True)) == 1 and integration_log.recent("calls", step_id="x") == []


def test_a_500_follows_fail_the_user_gets_an_apology_and_the_conversation_ends(httpserver):
    httpserver.expect_request("/api/contacts").respond_with_data("Internal Server Error", status=500)
    conversation_id, texts = say(crm_bot(httpserver.url_for("/api")))
    assert texts == ["Sorry, something went wrong on our side and I cannot go on right now. Please try again later."]
    assert db.session.get(Conversation, conversation_id).state["ended"] is True
    [row] = log_rows()
    assert row.response_status == 500 and "answered 500" in row.error


def test_a_slow_server_past_the_timeout_follows_dialog(httpserver):
    import threading

    release = threading.Event()

    def slow(request):
        release.wait(10)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/api/contacts").respond_with_handler(slow)
    try:
        _, texts = say(crm_bot(httpserver.url_for("/api"), timeout=0.3,
                               on_error={"action": "dialog", "dialog": "crm-down"}))
    finally:
        release.set()
    assert texts == ["Our CRM is down; we will call you."]
    assert "did not answer within the timeout" in log_rows()[0].error


def test_a_body_that_is_not_json_follows_flag_and_the_conversation_goes_on(httpserver):
    httpserver.expect_request("/api/contacts").respond_with_data("<html>Maintenance</html>", content_type="text/html")
    conversation_id, texts = say(crm_bot(httpserver.url_for("/api"),
                                         on_error={"action": "flag", "storage": "crmFailed"}))
    assert texts == ["Flagged"]
    assert db.session.get(BotUser, ("calls", "u1")).data["crmFailed"] is True
    [row] = log_rows()
    assert row.response_body == "<html>Maintenance</html>" and "does not fit the output" in row.error


@pytest.mark.parametrize("chunked", [False, True])
def test_a_50_mb_response_is_cut_off(httpserver, chunked):
    blob = b"x" * (50 * 2**20)
    body = (blob[i:i + 2**20] for i in range(0, len(blob), 2**20)) if chunked else blob
    httpserver.expect_request("/api/contacts").respond_with_response(Response(body, content_type="application/json"))
    _, texts = say(crm_bot(httpserver.url_for("/api"), on_error={"action": "flag", "storage": "crmFailed",
                                                                  "message": "I will save it later."}))
    assert texts == ["I will save it later.", "Flagged"]
    assert "at most 10.0 MB is read" in log_rows()[0].error


def test_output_not_matching_the_schema_follows_on_error(httpserver):
    httpserver.expect_request("/api/contacts").respond_with_json({"id": ""})
    _, texts = say(crm_bot(httpserver.url_for("/api"), on_error={"action": "dialog", "dialog": "crm-down"}))
    assert texts == ["Our CRM is down; we will call you."]
    assert "does not fit the output of 'crm-add-contact'" in log_rows()[0].error


def test_a_template_reading_an_undefined_storage_makes_no_call(httpserver):
    _, texts = say(crm_bot(httpserver.url_for("/api"), params={"name": "Eva", "email": "{{ emial }}"},
                           on_error={"action": "dialog", "dialog": "crm-down"}))
    assert texts == ["Our CRM is down; we will call you."]
    assert log_rows() == [] and httpserver.log == []


def test_a_missing_secret_follows_on_error_and_is_logged(httpserver):
    _, texts = say(crm_bot(httpserver.url_for("/api"), on_error={"action": "dialog", "dialog": "crm-down"}),
                   secret=False)
    assert texts == ["Our CRM is down; we will call you."]
    [row] = log_rows()
    assert "The bot secret 'crm-token' is not set" in row.error and httpserver.log == []


def test_a_template_not_installed_fails_the_step_not_the_turn(httpserver):
    _, texts = say(crm_bot(httpserver.url_for("/api"), template="no-such-template"))
    assert texts[0].startswith("Sorry, something went wrong")
    assert "'no-such-template' is not installed" in log_rows()[0].error


def test_a_private_address_is_refused_with_a_logged_reason(app):
    _, texts = say(crm_bot("http://10.0.0.5/api", on_error={"action": "flag", "storage": "crmFailed"}))
    assert texts == ["Flagged"]
    assert "Refused to connect to 10.0.0.5: a private address" in log_rows()[0].error


def test_no_secret_value_reaches_the_logs_the_integration_log_or_its_export(httpserver, caplog, client):
    """The server echoes what it got (headers, query, body); the key also travels in the query string."""
    def echo(request):
        return Response(json.dumps({"id": 1, "seen": dict(request.headers), "query": request.args.to_dict(),
                                    "body": request.get_data(as_text=True)}), status=400,
                        content_type="application/json")

    httpserver.expect_request("/api/contacts").respond_with_handler(echo)
    caplog.set_level(logging.DEBUG)
    doc = crm_bot(httpserver.url_for("/api"), params={"name": "Eva", "email": "{{ email }}", "note": TOKEN},
                  on_error={"action": "flag", "storage": "crmFailed"})
    doc["integrations"]["crm"]["auth"] = {"type": "api-key", "in": "query", "name": "key"}
    doc["integrations"]["crm"]["secrets"] = {"apiKey": "crm-token"}
    _, texts = say(doc)
    assert texts == ["Flagged"]
    rows = [{c.name: getattr(row, c.name) for c in IntegrationLogEntry.__table__.columns} for row in log_rows()]
    assert rows and "[redacted]" in rows[0]["url"] and "[redacted]" in rows[0]["response_body"]
    exported = client.get(f"/b/calls/api/management/export/integrationLog?code={create_key('calls', 'qa')[1]}")
    assert exported.status_code == 200 and "[redacted]" in exported.text
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))  # not the server's
    everything = json.dumps(rows, default=str) + ours + exported.text
    assert TOKEN not in everything



def test_a_loop_of_sync_calls_stops_after_a_bounded_number(httpserver, caplog):
    httpserver.expect_request("/ping").respond_with_json({"pong": True})
    steps = [{"id": "i1", "type": "integration", "use": "ping", "params": {"url": httpserver.url_for("/ping")}},
             {"id": "m1", "type": "message", "text": "again"},
             {"id": "g1", "type": "goto", "dialog": "main"}]
    publish(bot(steps, integrations={"ping": {"template": "http-request"}}))
    conversation, activities = start_conversation("calls", "u1", "test")
    assert len(httpserver.log) == MAX_CHAINED and [a["text"] for a in activities] == ["again"] * MAX_CHAINED
    assert db.session.get(Conversation, conversation.id).state["waiting"]["step"] == "i1"
    assert "integration calls one after another in one request (a loop?)" in caplog.text
