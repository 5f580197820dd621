"""What the designer takes from each step type's own module: a choice that keeps its answer by default, the
problems of steps left empty named by their labels on screen, and forms without internal ids (issue 19)."""

from __future__ import annotations

import html
import json

import pytest
from designer_client import Designer

from designer import tree
from runtime import botdoc
from runtime.steps import STEP_TYPES


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


def steps_of(designer: Designer, bot_id: str) -> list[dict]:
    return designer.draft(bot_id)[0]["dialogs"][0]["steps"]


def test_a_choice_keeps_its_answer_under_a_name_made_from_its_question(designer):
    bot_id = designer.create_bot()
    first = designer.add_step(bot_id, "choice", "welcome")
    saved = designer.edit(f"/designer/bots/{bot_id}/steps/{first}", {
        "text": "What are you interested in?", "storage": "", "options._count": "2",
        "options.0.title": "Website", "options.1.title": "Shop"})
    assert saved.status_code == 200, saved.text
    choice = next(s for s in steps_of(designer, bot_id) if s["id"] == first)
    assert choice["storage"] == "interest"
    # the form's field and the tree show it at once, without reloading the step
    assert 'value="interest"' in saved.text and "outerHTML:#step-form input[name='storage']" in saved.text
    assert "What are you interested in? → interest" in html.unescape(saved.text)
    # a second choice asking the same gets a name of its own; a name the person typed is kept as typed
    second = designer.add_step(bot_id, "choice", "welcome")
    designer.edit(f"/designer/bots/{bot_id}/steps/{second}", {
        "text": "And what are you interested in now?", "storage": "", "options._count": "1",
        "options.0.title": "Nothing"})
    third = designer.add_step(bot_id, "choice", "welcome")
    designer.edit(f"/designer/bots/{bot_id}/steps/{third}", {
        "text": "Which size?", "storage": "shirt_size", "options._count": "1", "options.0.title": "M"})
    kept = {s["id"]: s.get("storage") for s in steps_of(designer, bot_id)}
    assert (kept[second], kept[third]) == ("interest_2", "shirt_size")
    # the answer is among what the bot knows: a condition reading it raises no "no step keeps" warning
    doc = designer.draft(bot_id)[0]
    assert "interest" in tree.storages(doc)
    doc["dialogs"][0]["steps"].append({"id": "k", "type": "condition", "else": [],
                                      "branches": [{"when": 'interest == "Website"', "steps": []}]})
    assert not [p for p in botdoc.validate(doc) if "interest" in p.message]


def test_steps_left_empty_are_problems_named_as_the_form_names_them(designer):
    bot_id = designer.create_bot()
    for kind in ("question", "message", "choice", "condition"):
        designer.add_step(bot_id, kind, "welcome")
    steps = {s["type"]: s["id"] for s in steps_of(designer, bot_id)[1:]}
    designer.edit(f"/designer/bots/{bot_id}/steps/{steps['choice']}", {
        "text": "Pick one", "storage": "", "options._count": "1", "options.0.title": "Yes",
        "_action": "remove:options.0"})
    designer.edit(f"/designer/bots/{bot_id}/steps/{steps['condition']}", {
        "branches._count": "1", "branches.0.when": "true", "_action": "remove:branches.0"})
    page = html.unescape(designer.client.get(f"/designer/bots/{bot_id}/problems").text)
    assert "ready to publish" not in page
    for where, what in [("field “What the bot asks”", "“What the bot asks” is empty: write the question the bot asks."),
                        ("field “What the bot says”", "“What the bot says” is empty: write what the bot says"),
                        ("field “Options”", "A choice needs at least one option: add one with “+ Add an option”."),
                        ("field “Conditions”", "A condition needs at least one “If”")]:
        assert where in page and what in page, (where, page)
    # publishing is refused while they are there
    assert designer.post(f"/designer/bots/{bot_id}/publish").status_code in (200, 302, 422)
    assert designer.published(bot_id) is None


def test_forms_show_no_internal_ids(designer):
    bot_id = designer.create_bot()
    for kind in STEP_TYPES:
        if kind == "integration":
            continue  # needs an integration set up first; its form is tested with the integrations
        step_id = designer.add_step(bot_id, kind, "welcome")
        form = designer.client.get(f"/designer/bots/{bot_id}/steps/{step_id}", headers={"HX-Request": "true"}).text
        assert f"id {step_id}" not in form and f">{step_id}<" not in form, kind


def test_every_step_type_describes_itself_in_its_own_module():
    """A step type is one module: its badge, its form's labels and its starting values live there, and a new
    step of every type starts from values its schema accepts."""
    doc = {"format": botdoc.CURRENT_FORMAT, "id": "b", "name": "B", "start": "main",
           "integrations": {"crm": {"template": "rest", "config": {"baseUrl": "https://crm.example"}}},
           "dialogs": [{"id": "main", "steps": []}, {"id": "other", "steps": []}]}
    for kind, module in STEP_TYPES.items():
        assert module.ABBREVIATION and module.TITLE and module.DESCRIPTION, kind
        for field, label in getattr(module, "LABELS", {}).items():
            assert f'"{field}"' in json.dumps(module.SCHEMA) and label, (kind, field)
        step = tree.new_step(doc, kind, "main")
        assert set(step) - {"id", "type"} <= set(module.SCHEMA["properties"]), kind
