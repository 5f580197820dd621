"""Every error a person can reach in issue 19's walk (tests/e2e/test_newcomer_walk.py), listed: each names the
place by its label on screen and says how to fix it. The problems panel gives a place and a message; a form that
cannot be saved answers with the message where the field is."""

from __future__ import annotations

import html
import re

import pytest
from designer_client import Designer


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


def problems(designer: Designer, bot_id: str) -> list[tuple[str, str]]:
    """(place, message) of each problem the editor lists."""
    page = html.unescape(designer.client.get(f"/designer/bots/{bot_id}/problems").text)
    return re.findall(r'<span class="where">(.*?)</span>\s*<span class="what">(.*?)</span>', page, re.S)


def step_of(designer: Designer, bot_id: str, kind: str) -> str:
    return designer.add_step(bot_id, kind, "welcome")


# (what the person leaves or does, the place as the panel names it, what the message says to do)
LEFT_IN_THE_TREE = [
    ("a question with nothing asked", "question", {"text": ""}, "field “What the bot asks”",
     "“What the bot asks” is empty: write the question the bot asks."),
    ("a message with nothing said", "message", {"text": ""}, "field “What the bot says”",
     "“What the bot says” is empty: write what the bot says, or remove the step."),
    ("an answer kept under a name with a space", "question", {"text": "Your e-mail?", "storage": "e mail"},
     "field “Keep the answer in”", "A storage name: letters, digits and _, not starting with a digit."),
    ("a choice whose options were all removed", "choice",
     {"text": "Pick one", "options._count": "1", "options.0.title": "Yes", "_action": "remove:options.0"},
     "field “Options”", "add one with “+ Add an option”"),
    ("a condition whose If was removed", "condition",
     {"branches._count": "1", "branches.0.when": "true", "_action": "remove:branches.0"},
     "field “Conditions”", "add one, or remove the condition step"),
]


@pytest.mark.parametrize(("what", "kind", "form", "place", "fix"), LEFT_IN_THE_TREE,
                         ids=[case[0] for case in LEFT_IN_THE_TREE])
def test_a_step_left_wrong_is_a_problem_named_by_its_label_with_the_fix(designer, what, kind, form, place, fix):
    bot_id = designer.create_bot()
    step = step_of(designer, bot_id, kind)
    saved = designer.edit(f"/designer/bots/{bot_id}/steps/{step}", form)
    assert saved.status_code == 200, saved.text
    found = problems(designer, bot_id)
    assert any(place in where and fix in message for where, message in found), found
    # and while it is there, the bot is neither tried nor published, each saying where to look
    tried = designer.post(f"/designer/bots/{bot_id}/preview")
    assert tried.status_code == 422 and "fix them (see Problems)" in tried.json["error"]
    published = designer.post(f"/designer/bots/{bot_id}/publish", {"note": "try"}, follow_redirects=True)
    assert "Not published: the draft has" in html.unescape(published.text)
    assert "listed under Problems" in html.unescape(published.text)


def test_a_condition_row_left_half_picked_names_the_row_and_field(designer):
    bot_id = designer.create_bot()
    choice = step_of(designer, bot_id, "choice")
    designer.edit(f"/designer/bots/{bot_id}/steps/{choice}", {
        "text": "What are you interested in?", "storage": "", "options._count": "2",
        "options.0.title": "Website", "options.1.title": "Online shop"})
    condition = step_of(designer, bot_id, "condition")
    refused = designer.edit(f"/designer/bots/{bot_id}/steps/{condition}", {
        "branches._count": "1", "branches.0.rows._count": "1", "branches.0.join": "all",
        "branches.0.rows.0.subject": "interest", "branches.0.rows.0.op": "is", "branches.0.rows.0.value": ""})
    assert refused.status_code == 422
    message = html.unescape(refused.text)
    assert "row 1: “Value” is empty: pick one of the options." in message


def test_a_storage_no_step_keeps_says_what_to_pick(designer):
    bot_id = designer.create_bot()
    message = step_of(designer, bot_id, "message")
    designer.edit(f"/designer/bots/{bot_id}/steps/{message}", {"text": "Hello {{ nmae }}"})
    found = problems(designer, bot_id)
    assert any("field “What the bot says”" in where and "Pick something the bot knows from the list, or let a "
               "question or choice keep its answer in 'nmae'." in text for where, text in found), found


@pytest.mark.parametrize("typed", ["", "shop.example", "https://shop.example/contact", "javascript:alert(1)"])
def test_a_website_written_wrong_in_the_share_panel_says_what_to_write(designer, typed):
    bot_id = designer.create_bot()
    designer.csrf(f"/designer/bots/{bot_id}/share")
    refused = designer.post(f"/designer/bots/{bot_id}/share/websites", {"website": typed})
    assert refused.status_code == 422
    page = html.unescape(refused.text)
    error = re.search(r'<p class="field-error" role="alert" id="website-error">(.*?)</p>', page, re.S).group(1)
    assert error.startswith("Website: ") and "https://shop.example" in error, error
