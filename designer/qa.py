"""Conversation tests in the designer: a bot's tests, edit one (mistakes shown with line and column), run
them all on the draft, delete; save a preview conversation as a test; publishing that requires them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from designer import bp
from designer.bots import get_bot_or_404
from designer.drafting import answer
from runtime.extensions import db
from runtime.store import bots, conversation_tests
from runtime.store.models import Conversation, ConversationTest
from runtime.testing import script
from runtime.testing.recording import record

NEW_TEST = "name: A new test\nsteps:\n  - say: hello\n  - bot:\n      contains: Hello\n"


def _page(bot_id: str, status: int = 200, **extra):
    bot = get_bot_or_404(bot_id)
    return render_template("designer/tests.html", bot=bot, tests=conversation_tests.list_tests(bot_id),
                           required=bool((bot.settings or {}).get(conversation_tests.REQUIRE_SETTING)),
                           **extra), status


@bp.get("/bots/<bot_id>/tests")
def tests(bot_id: str):
    return _page(bot_id)


@bp.get("/bots/<bot_id>/tests/edit")
def test_edit(bot_id: str):
    """The editor of one test (`name`), or of a new one."""
    get_bot_or_404(bot_id)
    name = request.args.get("name", "")
    found = db.session.get(ConversationTest, (bot_id, name)) if name else None
    if name and found is None:
        abort(404, f"The bot has no test “{name}”.")
    return _page(bot_id, editing={"name": name, "original": name, "yaml": found.yaml if found else NEW_TEST})


@bp.post("/bots/<bot_id>/tests/edit")
def test_save(bot_id: str):
    get_bot_or_404(bot_id)
    name, original = request.form.get("name", "").strip(), request.form.get("original", "")
    text = request.form.get("yaml", "")
    editing = {"name": name, "original": original, "yaml": text}
    try:
        conversation_tests.save_test(bot_id, name, text)
    except script.ScriptError as e:
        return _page(bot_id, 422, editing=editing, mistake=e)
    if original and original != name:
        conversation_tests.delete_test(bot_id, original)
    flash(f"Saved the test “{name}”.")
    return redirect(url_for("designer.tests", bot_id=bot_id))


@bp.post("/bots/<bot_id>/tests/delete")
def test_delete(bot_id: str):
    get_bot_or_404(bot_id)
    name = request.form.get("name", "")
    deleted = conversation_tests.delete_test(bot_id, name)
    flash(f"Deleted the test “{name}”." if deleted else f"There was no test “{name}”.")
    return redirect(url_for("designer.tests", bot_id=bot_id))


@bp.post("/bots/<bot_id>/tests/run")
def tests_run(bot_id: str):
    """Run every test on the draft; the page shows each green or red with its first difference."""
    get_bot_or_404(bot_id)
    results = conversation_tests.run_all(bot_id, version=bots.DRAFT)
    return _page(bot_id, results={r.name: r for r in results})


@bp.post("/bots/<bot_id>/tests/require")
def tests_require(bot_id: str):
    get_bot_or_404(bot_id)
    required = request.form.get("required") == "1"
    conversation_tests.require_tests(bot_id, required)
    flash("Publishing now requires every test to pass." if required else "Publishing no longer runs the tests.")
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/designer/")
                    else url_for("designer.tests", bot_id=bot_id))


@bp.post("/bots/<bot_id>/tests/record")
def test_record(bot_id: str):
    """Save a preview conversation as a test, named by the htmx prompt (or the `name` field)."""
    get_bot_or_404(bot_id)
    conversation_id = request.form.get("conversation", "")
    conversation = db.session.scalar(select(Conversation).where(Conversation.id == conversation_id,
                                                                Conversation.bot_id == bot_id))
    if conversation is None:
        return answer("That conversation is gone; restart the preview and try again.", status=404)
    name = (request.headers.get("HX-Prompt") or request.form.get("name") or "").strip()
    try:
        conversation_tests.save_test(bot_id, name, record(conversation_id, name))
    except script.ScriptError as e:
        return answer(e.message, status=422)
    target = url_for("designer.test_edit", bot_id=bot_id, name=name)
    if request.htmx:
        return answer("", HX_Redirect=target)
    return redirect(target)
