"""Issue 19 item 1: a value picked or typed into a row of the condition builder is compared as text, never
read as part of the expression it is written into: quotes, backslashes, `{{ }}`, brackets and Jinja words in
it cannot read another storage, call anything or make the branch always hold. What the row checks is one of
the names the bot knows, refused otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "api")]

from designer_client import Designer  # noqa: E402

from runtime.expressions import evaluate, expression_names  # noqa: E402
from runtime.store.drafts import save_draft  # noqa: E402

PAYLOADS = ['" or true or "', "\" or user.id or \"", '\\" or 1 or \\"', "{{ secret }}", "}} {{ 7*7", "{% raw %}",
            '"] or true or ["', "' or 1 or '", "x\" == \"x", "\n or true", "() .__class__"]


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


@pytest.fixture
def bot(designer, app) -> str:
    bot_id = designer.create_bot()
    doc, revision = designer.draft(bot_id)
    doc["dialogs"][0]["steps"] = [
        {"id": "ask", "type": "question", "text": "Your code?", "storage": "code"},
        {"id": "check", "type": "condition", "branches": [{"when": "true", "steps": []}], "else": []},
    ]
    with app.app_context():
        save_draft(bot_id, doc, revision, label="test")
    return bot_id


def saved_when(designer: Designer, bot_id: str, subject: str, op: str, value: str) -> tuple[int, str]:
    response = designer.edit(f"/designer/bots/{bot_id}/steps/check", {
        "branches._count": "1", "branches.0.when": "true", "branches.0.join": "all", "branches.0.rows._count": "1",
        "branches.0.rows.0.subject": subject, "branches.0.rows.0.op": op, "branches.0.rows.0.value": value})
    return response.status_code, designer.draft(bot_id)[0]["dialogs"][0]["steps"][1]["branches"][0]["when"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_value_cannot_change_the_expression(designer, bot, payload):
    for op in ("is", "is-not", "contains", "not-contains"):
        status, expression = saved_when(designer, bot, "code", op, payload)
        assert status == 200 and expression_names(expression) == {"code"}  # reads nothing else
        names = {"code": "something else", "user": {"id": "u-1"}, "secret": "s3cret"}
        assert evaluate(expression, names) is (op in ("is-not", "not-contains"))  # never made to hold
        assert evaluate(expression, {**names, "code": payload}) is (op in ("is", "contains"))


@pytest.mark.parametrize("subject", ["code or true", "code == 1", "user.__class__", "true", "code[0]", "", "in"])
def test_what_a_row_checks_is_a_name_or_it_is_refused(designer, bot, subject):
    status, expression = saved_when(designer, bot, subject, "not-empty", "")
    assert status == 422 and expression == "true"
