"""The designer through the Flask test client: accounts, bots, the tree editor's htmx edits, versions,
preview, settings and the bad inputs of issue 4."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from designer_client import Designer

from runtime.extensions import db
from runtime.steps import STEP_TYPES
from runtime.steps.base import Input
from runtime.store import secrets
from runtime.turns.turn import handle


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


def first_dialog(doc: dict) -> dict:
    return doc["dialogs"][0]


# --- accounts ------------------------------------------------------------------------------------

def test_first_run_makes_the_first_admin_then_sends_to_sign_in(client):
    assert client.get("/designer/").location == "/designer/welcome"
    page = client.get("/designer/welcome")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    bad = client.post("/designer/welcome", data={"csrf_token": token, "email": "eva@example.com",
                                                 "password": "short", "confirm": "short"})
    assert bad.status_code == 400 and "at least 8 characters" in bad.text
    made = client.post("/designer/welcome", data={"csrf_token": token, "email": "eva@example.com",
                                                  "password": "long enough", "confirm": "long enough"})
    assert made.location == "/designer/"
    assert "eva@example.com" in client.get("/designer/").text
    client.post("/designer/signout", data={"csrf_token": token})
    assert client.get("/designer/welcome").location == "/designer/signin"
    assert client.get("/designer/").location.startswith("/designer/signin")


def test_wrong_password_is_refused_in_plain_words(app, client):
    Designer(app, client).sign_in()
    client.post("/designer/signout", data={"csrf_token": ""})
    d = Designer(app, client)
    d.csrf()
    response = client.post("/designer/signin", data={"csrf_token": d.token, "email": "admin@example.com",
                                                     "password": "wrong"})
    assert response.status_code == 400 and "do not match" in response.text


def test_editors_are_refused_on_admin_pages(app, client):
    editor = Designer(app, client).sign_in("ed@example.com", "editor pass", role="editor")
    response = client.get("/designer/users")
    assert response.status_code == 403 and "for administrators" in response.text
    assert editor.post("/designer/users", {"email": "x@example.com", "password": "12345678"}).status_code == 403


def test_admin_adds_a_user(designer):
    response = designer.post("/designer/users", {"email": "New@Example.com", "password": "secret pass",
                                                  "role": "editor"})
    assert response.status_code == 302
    assert "new@example.com" in designer.client.get("/designer/users").text


def test_cli_creates_a_user_with_the_password_from_stdin(app, runner):
    result = runner.invoke(args=["users", "create", "ops@example.com", "--role", "editor"], input="a long password\n")
    assert result.exit_code == 0, result.output
    assert "Created editor ops@example.com" in result.output
    again = runner.invoke(args=["users", "create", "ops@example.com"], input="a long password\n")
    assert again.exit_code == 1 and "already a user" in again.output


def test_a_forged_request_without_csrf_token_is_refused(designer):
    bot_id = designer.create_bot()
    response = designer.client.post(f"/designer/bots/{bot_id}/delete", data={"confirm": bot_id})
    assert response.status_code == 400 and "refused" in response.text
    htmx = designer.client.post(f"/designer/bots/{bot_id}/steps", data={"type": "message", "place": "welcome"},
                                headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert designer.draft(bot_id)[1] == 1  # nothing changed


def test_an_expired_session_asks_to_sign_in_again_and_keeps_the_edit_possible(app, designer):
    bot_id = designer.create_bot()
    with designer.client.session_transaction() as session:
        session["seen"] = 0  # long ago
    step = first_dialog(designer.draft(bot_id)[0])["steps"][0]["id"]
    response = designer.edit(f"/designer/bots/{bot_id}/steps/{step}", {"text": "Edited while away"})
    assert response.status_code == 401 and response.headers["X-Signin-Required"] == "1"
    token = response.headers["X-CSRF-Token"]
    again = designer.client.post("/designer/signin", data={"email": "admin@example.com", "password": "correct horse"},
                                 headers={"X-Signin-Inline": "1", "X-CSRFToken": token})
    assert again.json["ok"] is True
    designer.token = again.json["csrf"]
    assert designer.edit(f"/designer/bots/{bot_id}/steps/{step}", {"text": "Edited while away"}).status_code == 200
    assert first_dialog(designer.draft(bot_id)[0])["steps"][0]["text"] == "Edited while away"


# --- bots ----------------------------------------------------------------------------------------

def test_names_with_script_are_shown_as_text(designer):
    bot_id = designer.create_bot("<script>alert(1)</script>")
    for path in ("/designer/", f"/designer/bots/{bot_id}/edit", f"/designer/bots/{bot_id}/settings"):
        page = designer.client.get(path).text
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_list_search_create_from_example_duplicate_export_delete(designer):
    blank = designer.create_bot("Pizza orders")
    example = designer.create_bot("", example="support")
    assert example != blank
    found = designer.client.get("/designer/?q=pizza", headers={"HX-Request": "true"}).text
    assert "Pizza orders" in found and "<html" not in found
    assert "Pizza" not in designer.client.get("/designer/?q=zzz").text.split("bot-rows")[1]
    assert designer.post(f"/designer/bots/{blank}/duplicate").status_code == 302
    assert "Pizza orders (copy)" in designer.client.get("/designer/").text
    exported = designer.client.get(f"/designer/bots/{example}/export")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    assert json.loads(exported.data)["id"] == example and len(json.loads(exported.data)["dialogs"]) > 1
    refused = designer.post(f"/designer/bots/{blank}/delete", {"confirm": "no"})
    assert refused.status_code == 422
    assert designer.post(f"/designer/bots/{blank}/delete", {"confirm": blank}).status_code == 302
    assert designer.client.get(f"/designer/bots/{blank}/edit").status_code == 404


def test_import_shows_every_problem_with_its_place(designer):
    def upload(content: bytes, **extra):
        from io import BytesIO
        return designer.post("/designer/import", {"file": (BytesIO(content), "bot.json"), **extra},
                             content_type="multipart/form-data")

    malformed = upload(b'{"id": "x", "dialogs": [')
    assert malformed.status_code == 422 and "Not valid JSON" in malformed.text and "line 1" in malformed.text
    huge = upload(b" " * (20 * 2**20))
    assert huge.status_code == 413 and "20.0 MB" in huge.text and "at most 5.0 MB" in huge.text
    broken = {"format": 1, "id": "broken", "name": "Broken", "start": "nowhere", "dialogs": [
        {"id": "a", "title": "A", "steps": [{"id": "s1", "type": "goto", "dialog": "missing"},
                                            {"id": "s2", "type": "teleport", "to": "mars"}]}]}
    response = upload(json.dumps(broken).encode())
    assert response.status_code == 422
    assert "/dialogs/0/steps/1" in response.text and "dialog “A”, step" in response.text
    assert "Import anyway" in response.text
    kept_id = re.search(r'name="kept" value="([^"]+)"', response.text)[1]  # the file stays on the server
    kept = designer.post("/designer/import", {"anyway": "1", "kept": kept_id})
    assert kept.status_code == 302
    editor = designer.client.get(kept.location).text
    step = designer.client.get("/designer/bots/broken/steps/s2", headers={"HX-Request": "true"}).text
    assert "Kept as it is" in editor and "teleport" in step and "mars" in step
    assert designer.draft("broken")[0]["dialogs"][0]["steps"][1] == {"id": "s2", "type": "teleport", "to": "mars"}
    shapeless = {"format": 1, "id": "shapeless", "start": "a", "dialogs": [{"id": "a", "steps": ["hello"]}]}
    refused = upload(json.dumps(shapeless).encode())
    assert refused.status_code == 422 and "needs an &#34;id&#34; and a &#34;type&#34;" in refused.text
    assert 'name="kept"' not in refused.text, "a document the editor cannot open is not offered to import anyway"


# --- the tree editor -----------------------------------------------------------------------------

def test_build_a_tree_by_edits(designer):
    bot_id = designer.create_bot()
    choice = designer.add_step(bot_id, "choice", "welcome")
    inside = designer.add_step(bot_id, "message", f"welcome|{choice}|/options/1/steps")
    condition = designer.add_step(bot_id, "condition", "welcome")
    doc, _ = designer.draft(bot_id)
    steps = first_dialog(doc)["steps"]
    assert [s["type"] for s in steps] == ["message", "choice", "condition"]
    assert steps[1]["options"][1]["steps"][0]["id"] == inside
    # move the message from the "No" option into the condition's else branch
    moved = designer.edit(f"/designer/bots/{bot_id}/steps/{inside}/move",
                          {"place": f"welcome|{condition}|/else", "index": 0})
    assert moved.status_code == 200 and f'id="node-{inside}"' in moved.text
    doc, _ = designer.draft(bot_id)
    assert first_dialog(doc)["steps"][2]["else"][0]["id"] == inside
    assert first_dialog(doc)["steps"][1]["options"][1]["steps"] == []
    into_itself = designer.edit(f"/designer/bots/{bot_id}/steps/{condition}/move",
                                {"place": f"welcome|{condition}|/else", "index": 0})
    assert into_itself.status_code == 422 and "its own branches" in into_itself.text
    twin = designer.edit(f"/designer/bots/{bot_id}/steps/{condition}/duplicate")
    assert twin.status_code == 200
    doc, _ = designer.draft(bot_id)
    copies = [s for s in first_dialog(doc)["steps"] if s["type"] == "condition"]
    assert len(copies) == 2 and copies[1]["else"][0]["id"] != inside  # new ids inside the copy too
    assert designer.edit(f"/designer/bots/{bot_id}/steps/{copies[1]['id']}/delete").status_code == 200
    assert len(first_dialog(designer.draft(bot_id)[0])["steps"]) == 3


def test_inspector_saves_fields_options_and_keeps_branches(designer):
    bot_id = designer.create_bot()
    choice = designer.add_step(bot_id, "choice", "welcome")
    child = designer.add_step(bot_id, "message", f"welcome|{choice}|/options/0/steps")
    form = designer.client.get(f"/designer/bots/{bot_id}/steps/{choice}", headers={"HX-Request": "true"}).text
    assert 'name="options.0.title"' in form and 'list="storages"' in form
    saved = designer.edit(f"/designer/bots/{bot_id}/steps/{choice}", {
        "text": "What do you need, {{ name }}?", "storage": "topic", "options._count": "2",
        "options.0.title": "A loan", "options.0.value": "loan", "options.1.title": "Talk to a person",
        "options.1.value": ""})
    assert saved.status_code == 200 and "Saved" in saved.text and 'hx-swap-oob="true"' in saved.text
    step = first_dialog(designer.draft(bot_id)[0])["steps"][1]
    assert step["options"][0] == {"title": "A loan", "value": "loan", "steps": [step["options"][0]["steps"][0]]}
    assert step["options"][0]["steps"][0]["id"] == child and step["options"][1] == {"title": "Talk to a person",
                                                                                     "steps": []}
    added = designer.edit(f"/designer/bots/{bot_id}/steps/{choice}", {"options._count": "2", "_action": "add:options",
                                                                      "options.0.title": "A loan",
                                                                      "options.1.title": "Human"})
    assert added.status_code == 200 and 'name="options.2.title"' in added.text
    assert '<option value="topic">' in saved.text  # the storage picker learns it at once
    assert "topic" in designer.client.get(f"/designer/bots/{bot_id}/edit").text


def test_wrong_number_is_refused_with_the_field_named(designer):
    bot_id = designer.create_bot()
    question = designer.add_step(bot_id, "question", "welcome")
    response = designer.edit(f"/designer/bots/{bot_id}/steps/{question}", {"maxRetries": "three"})
    assert response.status_code == 422 and "whole number" in response.text and "maxRetries" in response.text


def test_integration_without_its_template_keeps_params(designer, app):
    bot_id = designer.create_bot()
    doc, revision = designer.draft(bot_id)
    doc["integrations"] = {"crm": {"template": "not-installed", "config": {}}}
    first_dialog(doc)["steps"].append({"id": "i1", "type": "integration", "use": "crm",
                                       "params": {"email": "{{ email }}", "deep": {"a": [1, 2]}}})
    with app.app_context():
        from runtime.store.drafts import save_draft
        save_draft(bot_id, doc, revision, label="test")
    form = designer.client.get(f"/designer/bots/{bot_id}/steps/i1", headers={"HX-Request": "true"}).text
    assert "is not installed" in form and "&#34;deep&#34;" in form
    assert designer.edit(f"/designer/bots/{bot_id}/steps/i1", {"output": "contact"}).status_code == 200
    step = first_dialog(designer.draft(bot_id)[0])["steps"][1]
    assert step["params"] == {"email": "{{ email }}", "deep": {"a": [1, 2]}} and step["output"] == "contact"


def test_a_stale_tab_is_refused_and_undo_goes_back(designer):
    bot_id = designer.create_bot()
    _, revision = designer.draft(bot_id)
    designer.add_step(bot_id, "message", "welcome")
    stale = designer.edit(f"/designer/bots/{bot_id}/steps", {"type": "end", "place": "welcome"}, revision=revision)
    assert stale.status_code == 409 and "another tab" in stale.text
    assert len(first_dialog(designer.draft(bot_id)[0])["steps"]) == 2
    undone = designer.edit(f"/designer/bots/{bot_id}/undo", {"dialog": "welcome"})
    assert undone.status_code == 200 and "undone=Added" in undone.headers["HX-Redirect"]
    assert len(first_dialog(designer.draft(bot_id)[0])["steps"]) == 1


def test_answers_say_whether_there_is_anything_to_undo(designer):
    """The toolbar's Undo follows the X-Draft-Undo header (what undo would take back, null for nothing): opening
    a step or saving its form as it was changes nothing, so it leaves nothing to undo."""
    bot_id = designer.create_bot()
    step = first_dialog(designer.draft(bot_id)[0])["steps"][0]
    _, revision = designer.draft(bot_id)
    opened = designer.client.get(f"/designer/bots/{bot_id}/steps/{step['id']}", headers={"HX-Request": "true"})
    assert opened.status_code == 200 and opened.headers["X-Draft-Undo"] == "null"
    form = {"_dialog": "welcome", "text": step["text"], "image": "", "format": "markdown", "buttons._count": "0",
            "title": "", "title._present": "1"}  # as the page posts the untouched form of a new bot's message
    same = designer.edit(f"/designer/bots/{bot_id}/steps/{step['id']}", form)
    assert same.status_code == 200 and same.headers["X-Draft-Undo"] == "null"
    assert designer.draft(bot_id)[1] == revision  # nothing saved
    assert "format" not in first_dialog(designer.draft(bot_id)[0])["steps"][0]
    undo = designer.edit(f"/designer/bots/{bot_id}/undo", {"dialog": "welcome"})
    assert undo.status_code == 422 and "nothing to undo" in undo.text

    changed = designer.edit(f"/designer/bots/{bot_id}/steps/{step['id']}", {**form, "text": "Hi, Žofie!"})
    assert json.loads(changed.headers["X-Draft-Undo"]) == "Changed a step"
    designer.edit(f"/designer/bots/{bot_id}/dialogs/welcome/rename", {"title": "Vítejte"})
    page = designer.client.get(f"/designer/bots/{bot_id}/edit").text
    assert 'title="Undo: Renamed dialog to Vítejte"' in page
    opened = designer.client.get(f"/designer/bots/{bot_id}/steps/{step['id']}", headers={"HX-Request": "true"})
    assert json.loads(opened.headers["X-Draft-Undo"]) == "Renamed dialog to Vítejte"  # ASCII on the wire


def test_dialogs_add_rename_reorder_start_and_delete_with_goto_check(designer):
    bot_id = designer.create_bot()
    assert designer.edit(f"/designer/bots/{bot_id}/dialogs", {"title": "Pricing plans"}).status_code == 200
    goto = designer.add_step(bot_id, "goto", "welcome")
    assert first_dialog(designer.draft(bot_id)[0])["steps"][1]["dialog"] == "pricing-plans"
    refused = designer.edit(f"/designer/bots/{bot_id}/dialogs/pricing-plans/delete")
    assert refused.status_code == 422 and "lead to this dialog" in refused.text
    designer.edit(f"/designer/bots/{bot_id}/dialogs/pricing-plans/rename", {"title": "Prices"})
    designer.edit(f"/designer/bots/{bot_id}/dialogs/order", {"order": ["pricing-plans", "welcome"]})
    designer.edit(f"/designer/bots/{bot_id}/dialogs/pricing-plans/start")
    doc, _ = designer.draft(bot_id)
    assert [d["id"] for d in doc["dialogs"]] == ["pricing-plans", "welcome"] and doc["start"] == "pricing-plans"
    assert doc["dialogs"][0]["title"] == "Prices"
    designer.edit(f"/designer/bots/{bot_id}/steps/{goto}/delete")
    assert designer.edit(f"/designer/bots/{bot_id}/dialogs/pricing-plans/delete").status_code == 200
    assert designer.draft(bot_id)[0]["start"] == "welcome"


def test_problems_name_the_step_and_link_to_it(designer):
    bot_id = designer.create_bot()
    question = designer.add_step(bot_id, "question", "welcome")
    designer.edit(f"/designer/bots/{bot_id}/steps/{question}", {"storage": "user"})
    listed = designer.client.get(f"/designer/bots/{bot_id}/problems", headers={"HX-Request": "true"}).text
    assert f'data-step="{question}"' in listed and "reserved name" in listed
    assert f"step={question}" in listed


# --- versions, preview, settings, JSON -----------------------------------------------------------

def test_publish_versions_diff_and_rollback(designer):
    bot_id = designer.create_bot()
    assert designer.post(f"/designer/bots/{bot_id}/publish", {"note": "first"}).status_code == 302
    question = designer.add_step(bot_id, "question", "welcome")
    designer.edit(f"/designer/bots/{bot_id}/steps/{question}", {"text": "Your name?", "storage": "name"})
    designer.post(f"/designer/bots/{bot_id}/publish", {"note": "asks a question"})
    listed = designer.client.get(f"/designer/bots/{bot_id}/versions?from=1&to=2").text
    assert "asks a question" in listed and "admin@example.com" in listed
    assert "Question" in listed and "was added" in listed
    view = designer.client.get(f"/designer/bots/{bot_id}/versions/1").text
    assert "read-only" in view and "data-testid=\"step\"" not in view
    assert designer.post(f"/designer/bots/{bot_id}/versions/1/rollback").status_code == 302
    assert len(first_dialog(designer.draft(bot_id)[0])["steps"]) == 1
    assert designer.published(bot_id) == 2


def test_a_draft_with_errors_is_not_published(designer):
    bot_id = designer.create_bot()
    question = designer.add_step(bot_id, "question", "welcome")
    designer.edit(f"/designer/bots/{bot_id}/steps/{question}", {"storage": "user"})
    response = designer.post(f"/designer/bots/{bot_id}/publish", follow_redirects=True)
    assert "Not published" in response.text and designer.published(bot_id) is None


def test_preview_runs_the_draft_and_shows_where_it_is(app, designer):
    bot_id = designer.create_bot()
    question = designer.add_step(bot_id, "question", "welcome")
    designer.edit(f"/designer/bots/{bot_id}/steps/{question}", {"text": "Your name?", "storage": "name"})
    started = designer.client.post(f"/designer/bots/{bot_id}/preview", headers={"X-CSRFToken": designer.token})
    assert started.status_code == 200 and started.json["token"].count(".") == 2
    conversation = started.json["conversationId"]
    state = designer.client.get(f"/designer/bots/{bot_id}/preview/{conversation}").text
    assert f'data-at-step="{question}"' in state
    with app.app_context():
        handle(conversation, Input.message("Eva"))
        db.session.remove()
    state = designer.client.get(f"/designer/bots/{bot_id}/preview/{conversation}").text
    assert "<dt>name</dt><dd>Eva</dd>" in state
    assert designer.published(bot_id) is None  # the draft ran, nothing was published


def test_developers_secrets_are_write_only_and_settings_keep_name_language_and_websites(app, designer):
    bot_id = designer.create_bot()
    assert designer.post(f"/designer/bots/{bot_id}/developers/secrets", {"name": "crm-token",
                                                                         "value": "s3cr3t-value",
                                                                         "address": "https://crm.example.com"}
                         ).status_code == 302
    page = designer.client.get(f"/designer/bots/{bot_id}/developers").text
    assert "crm-token" in page and "s3cr3t-value" not in page
    with app.app_context():
        assert secrets.values(bot_id, {"crm-token"}) == {"crm-token": "s3cr3t-value"}
    assert designer.post(f"/designer/bots/{bot_id}/developers/secrets", {"name": "bad name!",
                                                                         "value": "x"}).status_code == 422
    settings = designer.client.get(f"/designer/bots/{bot_id}/settings").text
    assert f'<a href="/designer/bots/{bot_id}/share">Share</a>' in settings  # the snippet and websites live there
    for developers_only in ("crm-token", "Management API keys", "Direct Line secret", "SMTP server"):
        assert developers_only not in settings
    made = designer.post(f"/designer/bots/{bot_id}/developers/directline")
    secret = re.search(r'data-testid="new-secret">([^<]+)<', made.text).group(1)
    assert secret not in designer.client.get(f"/designer/bots/{bot_id}/developers").text
    designer.post(f"/designer/bots/{bot_id}/settings/general", {"name": "Renamed", "languages": "cs, en-GB"})
    assert designer.draft(bot_id)[0]["name"] == "Renamed" and designer.draft(bot_id)[0]["languages"] == ["cs", "en-GB"]
    page = designer.post(f"/designer/bots/{bot_id}/settings/general", {"name": "Renamed", "languages": "cs, klingon"})
    assert page.status_code == 422 and "klingon&#39; is not a language tag" in page.text


def test_json_editor_validates_before_it_saves(designer):
    bot_id = designer.create_bot()
    doc, _ = designer.draft(bot_id)
    view = designer.client.get(f"/designer/bots/{bot_id}/json").text
    assert "&#34;dialogs&#34;" in view
    broken = {**doc, "start": "nowhere"}
    refused = designer.post(f"/designer/bots/{bot_id}/json", {"document": json.dumps(broken)})
    assert refused.status_code == 422 and "/start" in refused.text
    assert designer.draft(bot_id)[0]["start"] == "welcome"
    assert designer.post(f"/designer/bots/{bot_id}/json", {"document": "{not json"}).status_code == 422
    good = {**doc, "name": "From JSON", "updated": datetime.now(UTC).isoformat()}
    good.pop("updated")
    assert designer.post(f"/designer/bots/{bot_id}/json", {"document": json.dumps(good)}).status_code == 302
    assert designer.draft(bot_id)[0]["name"] == "From JSON"


@pytest.mark.parametrize("kind", sorted(STEP_TYPES))
def test_every_step_type_has_a_form_that_saves_back_unchanged(designer, kind):
    bot_id = designer.create_bot()
    step_id = designer.add_step(bot_id, kind, "welcome")
    before = first_dialog(designer.draft(bot_id)[0])["steps"][1]
    form = designer.client.get(f"/designer/bots/{bot_id}/steps/{step_id}", headers={"HX-Request": "true"})
    assert form.status_code == 200 and 'id="step-form"' in form.text
    fields = dict(re.findall(r'<input name="([^"]+)" value="([^"]*)"', form.text))
    fields.update({name: "1" for name in re.findall(r'name="([^"]+\._present)"', form.text)})
    counts = dict(re.findall(r'name="([^"]+\._count)" value="(\d+)"', form.text))
    saved = designer.edit(f"/designer/bots/{bot_id}/steps/{step_id}", {**fields, **counts})
    assert saved.status_code == 200, saved.text
    after = first_dialog(designer.draft(bot_id)[0])["steps"][1]
    assert {k: v for k, v in after.items() if k != "title"} == before


def test_function_keys_are_shown_once_and_revoked(designer):
    bot_id = designer.create_bot()
    made = designer.post(f"/designer/bots/{bot_id}/developers/keys", {"name": "CRM export"})
    key = re.search(r'data-testid="new-key">([^<]+)<', made.text).group(1)
    assert designer.client.get(f"/b/{bot_id}/api/management/export/userData", headers={"x-functions-key": key}) \
        .status_code == 200
    page = designer.client.get(f"/designer/bots/{bot_id}/developers").text
    assert "CRM export" in page and key not in page
    taken = designer.post(f"/designer/bots/{bot_id}/developers/keys", {"name": "CRM export"})
    assert taken.status_code == 422 and "already has a key" in taken.text
    key_id = re.search(r"/developers/keys/(\d+)/revoke", page).group(1)
    assert designer.post(f"/designer/bots/{bot_id}/developers/keys/{key_id}/revoke").status_code == 302
    assert designer.client.get(f"/b/{bot_id}/api/management/export/userData", headers={"x-functions-key": key}) \
        .status_code == 401


def test_a_handover_gets_a_time_limit_and_its_branch_in_the_tree(designer):
    bot_id = designer.create_bot()
    step_id = designer.add_step(bot_id, "handover", "welcome")
    saved = designer.edit(f"/designer/bots/{bot_id}/steps/{step_id}", {
        "text": "One moment", "queue": "support", "afterDialog": "", "timeout": "120", "_dialog": "welcome"})
    assert saved.status_code == 200, saved.text
    step = first_dialog(designer.draft(bot_id)[0])["steps"][1]
    assert (step["timeout"], step["queue"], step["text"]) == (120, "support", "One moment")
    tree = designer.client.get(f"/designer/bots/{bot_id}/edit").text
    assert f"welcome|{step_id}|/onTimeout" in tree and "When the time is up" in tree
    designer.edit(f"/designer/bots/{bot_id}/steps/{step_id}", {"text": "One moment", "timeout": "3",
                                                              "_dialog": "welcome"})
    problems = designer.client.get(f"/designer/bots/{bot_id}/problems", headers={"HX-Request": "true"}).text
    assert "Must be at least 10, not 3." in problems  # shown in the list; publishing is refused meanwhile
