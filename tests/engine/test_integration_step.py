"""The integration step in the pure engine: it asks for the call as an effect and waits for the result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chatting import texts

from runtime import engine
from runtime.steps.base import Input

DOC = {"format": 1, "id": "jobs", "name": "Jobs", "start": "main",
       "integrations": {"list": {"template": "list-to-carousel", "config": {"url": "https://jobs.example/api"}}},
       "dialogs": [
           {"id": "main", "steps": [
               {"id": "q", "type": "question", "text": "City?", "storage": "city"},
               {"id": "i", "type": "integration", "use": "list", "params": {"query": {"city": "{{ city }}"}},
                "output": "positions", "onError": {"action": "dialog", "dialog": "sorry"}},
               {"id": "m", "type": "message", "text": "{{ positions | length }} jobs in {{ city }}"}]},
           {"id": "sorry", "steps": [{"id": "s", "type": "message", "text": "No jobs today."}]}]}


def test_the_step_asks_for_the_call_and_waits(chat):
    talk = chat(DOC)
    assert talk.say("Brno") == []
    [effect] = talk.effects
    assert effect == {"type": "integration.call", "step": "i", "use": "list",
                      "integration": DOC["integrations"]["list"], "input": {"query": {"city": "Brno"}},
                      "timing": "sync", "timeout": 3.0, "output": "positions",
                      "onError": {"action": "dialog", "dialog": "sorry"}}
    assert talk.state["waiting"]["step"] == "i"
    answer = talk.send(Input.result("i", {"ok": True, "output": [{"title": "Baker"}, {"title": "Driver"}]}))
    assert texts(answer) == ["2 jobs in Brno"] and talk.data["positions"][0] == {"title": "Baker"}


def test_a_failed_result_follows_on_error(chat):
    talk = chat(DOC)
    talk.say("Brno")
    assert texts(talk.send(Input.result("i", {"ok": False, "error": "boom"}))) == ["No jobs today."]
    assert "Integration 'list' failed: boom" in talk.errors


def test_a_result_for_another_step_is_ignored(chat):
    talk = chat(DOC)
    talk.say("Brno")
    assert talk.send(Input.result("q", {"ok": True, "output": []})) == []
    assert talk.state["waiting"]["step"] == "i"


def test_a_message_while_the_call_runs_is_dropped_and_after_its_time_fails_the_call(chat):
    talk = chat(DOC)
    talk.say("Brno")
    assert talk.say("hello?") == [] and talk.state["waiting"]["step"] == "i"
    later = datetime.now(UTC) + timedelta(minutes=1)  # the process making the call died
    result = engine.turn(talk.bot, talk.state, talk.data, Input.message("anyone?"), user=talk.user, now=later)
    assert texts(result.activities) == ["No jobs today."]


def test_async_goes_on_at_once(chat):
    doc = {**DOC, "dialogs": [{**DOC["dialogs"][0], "steps": [
        {**step, "timing": "async"} if step["id"] == "i" else step for step in DOC["dialogs"][0]["steps"]]},
        DOC["dialogs"][1]]}
    talk = chat(doc)
    assert talk.say("Brno") == ["0 jobs in Brno"]  # the positions are not there yet
    assert talk.effects[0]["timing"] == "async" and talk.state["ended"]
