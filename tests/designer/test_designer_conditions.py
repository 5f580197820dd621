"""The condition builder through the inspector's form (issue 19 item 1): rows picked become the branch's
expression, bad rows are refused naming the row and the field as the form shows them, a typed expression
stays possible, and the tree says the branch in plain words. The Insert menu of text fields (item 4)."""

from __future__ import annotations

import pytest
from designer_client import Designer

from runtime.expressions import evaluate, expression_names
from runtime.store.drafts import save_draft


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


@pytest.fixture
def bot(designer, app) -> str:
    """A bot asking for a name and what the person is interested in, then a condition."""
    bot_id = designer.create_bot()
    doc, revision = designer.draft(bot_id)
    doc["dialogs"][0]["steps"] = [
        {"id": "ask-name", "type": "question", "text": "Your name?", "storage": "name"},
        {"id": "ask-interest", "type": "choice", "text": "What are you interested in?", "storage": "interest",
         "options": [{"title": "Website", "steps": []}, {"title": "Online shop", "value": "shop", "steps": []}]},
        {"id": "check", "type": "condition", "branches": [{"when": "true", "steps": []}], "else": []},
    ]
    with app.app_context():
        save_draft(bot_id, doc, revision, label="test")
    return bot_id


def when(designer: Designer, bot_id: str) -> str:
    return designer.draft(bot_id)[0]["dialogs"][0]["steps"][2]["branches"][0]["when"]


def rows(*picked: tuple, join: str = "all", **extra: str) -> dict:
    """The condition form as the builder posts it: (what, how, value or [values]) per row."""
    form = {"branches._count": "1", "branches.0.when": "true", "branches.0.title": "", "branches.0.join": join,
            "branches.0.rows._count": str(len(picked))}
    for j, (subject, op, *value) in enumerate(picked):
        form[f"branches.0.rows.{j}.subject"], form[f"branches.0.rows.{j}.op"] = subject, op
        if value and isinstance(value[0], list):
            form[f"branches.0.rows.{j}.values"] = value[0]
        elif value:
            form[f"branches.0.rows.{j}.value"] = value[0]
    return {**form, **extra}


def test_the_form_offers_what_the_bot_knows_and_the_operators_in_words(designer, bot):
    form = designer.client.get(f"/designer/bots/{bot}/steps/check", headers={"HX-Request": "true"}).text
    assert "Always holds" in form and "+ Add a row" in form and 'name="branches.0.write"' in form
    assert 'name="branches.0.write" data-redraw-unticked="pick:branches.0">' in form  # picking, not writing, to start
    form = designer.edit(f"/designer/bots/{bot}/steps/check", rows(_action="add:branches.0.rows")).text
    assert ">interest (the answer to “What are you interested in?”)</option>" in form
    assert ">user.language (the person&#39;s language)</option>" in form
    assert all(f">{words}</option>" in form for words in ("is", "is not", "contains", "does not contain", "is empty",
                                                          "is not empty", "is more than", "is less than", "is at least",
                                                          "is at most", "is one of"))


def test_picked_rows_are_saved_as_the_expression_and_shown_in_words(designer, bot):
    added = designer.edit(f"/designer/bots/{bot}/steps/check", rows(_action="add:branches.0.rows"))
    assert added.status_code == 200 and 'name="branches.0.rows.0.subject"' in added.text
    assert when(designer, bot) == "name"  # the first thing the bot knows, "is not empty"
    saved = designer.edit(f"/designer/bots/{bot}/steps/check", rows(("interest", "is", "Website")))
    assert saved.status_code == 200, saved.text
    assert when(designer, bot) == 'interest == "Website"'
    assert "If interest is Website" in saved.text  # the tree's node, sent with the answer
    assert "If interest is Website" in designer.client.get(f"/designer/bots/{bot}/edit").text

    designer.edit(f"/designer/bots/{bot}/steps/check", rows(("interest", "one-of", ["Website", "shop"]),
                                                           ("name", "not-empty"), join="any"))
    assert when(designer, bot) == 'interest in ["Website", "shop"] or name'
    form = designer.client.get(f"/designer/bots/{bot}/steps/check", headers={"HX-Request": "true"}).text
    assert "In words: if interest is one of Website, Online shop or name is not empty" in form
    assert 'value="shop" data-redraw="redraw" checked' in form and '<option value="any" selected>' in form


def test_a_value_with_quotes_or_braces_is_compared_as_text(designer, bot):
    value = 'Web" or 1 or "{{ secret }}'
    assert designer.edit(f"/designer/bots/{bot}/steps/check", rows(("name", "is", value))).status_code == 200
    expression = when(designer, bot)
    assert expression_names(expression) == {"name"}
    assert evaluate(expression, {"name": value}) is True and evaluate(expression, {"name": "Web"}) is False


@pytest.mark.parametrize(("picked", "words"), [
    (("age", "more", "eighteen"), "Condition 1, row 1: “Value” must be a number for “is more than”, like 18"),
    (("name", "is", ""), "Condition 1, row 1: “Value” is empty: write what to compare with."),
    (("interest", "one-of", []), "Condition 1, row 1: “is one of” needs at least one value: tick the options"),
    (("name; import os", "is", "x"), "Condition 1, row 1: pick what the bot knows in “Check”"),
    (("name", "looks like", "x"), "Condition 1, row 1: pick how to compare"),
])
def test_a_bad_row_is_refused_naming_the_row_and_the_field(designer, bot, picked, words):
    refused = designer.edit(f"/designer/bots/{bot}/steps/check", rows(picked))
    assert refused.status_code == 422 and words in refused.text and 'class="field-error"' in refused.text
    assert when(designer, bot) == "true"  # nothing saved


def test_the_second_row_is_named(designer, bot):
    refused = designer.edit(f"/designer/bots/{bot}/steps/check", rows(("name", "not-empty"), ("age", "less", "")))
    assert refused.status_code == 422 and "Condition 1, row 2: “Value” is empty" in refused.text


def test_an_expression_can_still_be_written_and_stays_as_typed(designer, bot):
    typed = rows(("name", "not-empty"), **{"branches.0.write": "on", "branches.0.when": "visits >= 3 and name"})
    assert designer.edit(f"/designer/bots/{bot}/steps/check", typed).status_code == 200
    assert when(designer, bot) == "visits >= 3 and name"
    form = designer.client.get(f"/designer/bots/{bot}/steps/check", headers={"HX-Request": "true"}).text
    assert 'data-redraw-unticked="pick:branches.0" checked' in form  # opens as written: the rows cannot show it
    # Unticked: the rows cannot show it, so it is kept and the person is told what to do.
    back = designer.edit(f"/designer/bots/{bot}/steps/check", {**typed, "branches.0.write": "",
                                                               "_action": "pick:branches.0"})
    assert back.status_code == 422 and "Keep “Write it as an expression” ticked, or empty “If”" in back.text
    assert when(designer, bot) == "visits >= 3 and name"
    # An expression the rows can show opens as rows.
    simple = {**typed, "branches.0.when": "interest == 'shop'"}
    assert designer.edit(f"/designer/bots/{bot}/steps/check", simple).status_code == 200
    form = designer.client.get(f"/designer/bots/{bot}/steps/check", headers={"HX-Request": "true"}).text
    assert 'data-redraw-unticked="pick:branches.0">' in form and "In words: if interest is Online shop" in form


def test_a_typo_in_an_expression_shows_as_what_it_means(designer, bot):
    """The issue's "If Website": the tree now says what it checks, and problems say how to fix it."""
    designer.edit(f"/designer/bots/{bot}/steps/check", rows(**{"branches.0.write": "on", "branches.0.when": "Website"}))
    page = designer.client.get(f"/designer/bots/{bot}/edit").text
    assert "If Website is not empty" in page
    problems = designer.client.get(f"/designer/bots/{bot}/problems", headers={"HX-Request": "true"}).text
    assert "Website" in problems and "field “If”" in problems and "when" not in problems


def test_text_fields_offer_an_insert_menu_and_the_tree_shows_chips(designer, bot):
    form = designer.client.get(f"/designer/bots/{bot}/steps/ask-interest", headers={"HX-Request": "true"}).text
    assert 'data-insert="text" aria-label="Insert what the bot knows"' in form
    assert '<option value="name" label="name (the answer to “Your name?”)">' in form
    saved = designer.edit(f"/designer/bots/{bot}/steps/ask-interest", {
        "text": "What are you interested in, {{ name }}? <b>", "storage": "interest", "options._count": "2",
        "options.0.title": "Website", "options.1.title": "Online shop", "options.1.value": "shop"})
    assert saved.status_code == 200
    assert '<span class="chip">name</span>? &lt;b&gt;' in saved.text  # a chip; the rest escaped


def test_a_condition_added_in_the_form_always_holds_until_rows_are_picked(designer, bot):
    added = designer.edit(f"/designer/bots/{bot}/steps/check", rows(("name", "not-empty"), _action="add:branches"))
    assert added.status_code == 200 and 'name="branches.1.rows._count" value="0"' in added.text
    step = designer.draft(bot)[0]["dialogs"][0]["steps"][2]
    assert step["branches"] == [{"when": "name", "steps": []}, {"when": "true", "steps": []}]
