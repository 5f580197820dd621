"""An integration step's timing is `sync` or `async`: the API book's "call on background" is a dataset, and a
bot saved with `"timing": "background"` (which ran as `async`) is upgraded to `async` when loaded (format 3)."""

from __future__ import annotations

import copy

import pytest

from runtime import botdoc

INTEGRATIONS = {"zap": {"template": "http-request", "config": {"baseUrl": "https://hooks.example"}}}


def format_2(timing: str) -> dict:
    return {"format": 2, "id": "t", "name": "T", "languages": ["en"], "start": "a", "integrations": INTEGRATIONS,
            "dialogs": [
                {"id": "a", "steps": [
                    {"id": "c", "type": "choice", "text": "Go?", "options": [{"title": "Yes", "steps": [
                        {"id": "deep", "type": "integration", "use": "zap", "timing": timing}]}]},
                    {"id": "top", "type": "integration", "use": "zap", "timing": timing}]},
                {"id": "b", "steps": [{"id": "m", "type": "message", "text": "untouched"}]}]}


def test_background_is_upgraded_to_async_without_changing_the_original():
    doc = format_2("background")
    before = copy.deepcopy(doc)
    upgraded = botdoc.migrate(doc)
    assert upgraded["format"] == botdoc.CURRENT_FORMAT == 3
    steps = upgraded["dialogs"][0]["steps"]
    assert steps[1]["timing"] == "async" and steps[0]["options"][0]["steps"][0]["timing"] == "async"
    assert doc == before  # the document it was given is as it was
    assert upgraded["dialogs"][1] is doc["dialogs"][1]  # what did not change is not copied
    assert [p for p in botdoc.validate(upgraded) if p.severity == "error"] == []
    assert botdoc.load(doc).steps["deep"]["timing"] == "async"


@pytest.mark.parametrize("timing", ["sync", "async"])
def test_other_timings_stay(timing):
    assert botdoc.migrate(format_2(timing))["dialogs"][0]["steps"][1]["timing"] == timing


def test_the_schema_refuses_background_in_format_3():
    doc = {**botdoc.migrate(format_2("sync")), "format": 3}
    doc["dialogs"][0]["steps"][1]["timing"] = "background"
    errors = [p for p in botdoc.validate(doc) if p.severity == "error"]
    assert [p.pointer for p in errors] == ["/dialogs/0/steps/1/timing"]
