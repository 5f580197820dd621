"""The translation table in the designer: the page, a cell saved, CSV and XLIFF 1.2 out and back, refused imports."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, datetime

import pytest
from designer_client import Designer
from golden import load_doc
from lxml import etree

from runtime import botdoc, engine
from runtime.botdoc import translations
from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store.bots import import_bot
from runtime.store.drafts import load_draft, save_draft
from runtime.store.models import Conversation


@pytest.fixture
def designer(app, client) -> Designer:
    made = Designer(app, client).sign_in()
    with app.app_context():
        import_bot(load_doc("polyglot"), publish=True)
    made.csrf("/designer/bots/polyglot/translations")
    return made


def upload(designer: Designer, data: bytes, name: str):
    return designer.post("/designer/bots/polyglot/translations/import", {"file": (io.BytesIO(data), name)},
                         content_type="multipart/form-data")


def test_the_table_shows_every_text_and_marks_the_missing(designer):
    doc, _ = designer.draft("polyglot")
    page = designer.client.get("/designer/bots/polyglot/translations")
    assert page.status_code == 200
    assert page.text.count('data-testid="translation-cell"') == 2 * len(list(translations.texts(doc)))
    assert "Czech: complete" in page.text and "German: complete" in page.text and 'class="missing' not in page.text
    designer.edit("/designer/bots/polyglot/translations/cell", {"language": "de", "id": "h5/text", "text": ""})
    page = designer.client.get("/designer/bots/polyglot/translations")
    assert "German: 1 missing" in page.text and page.text.count('class="missing') == 1


def test_a_cell_is_saved_checked_and_cleared(designer):
    saved = designer.edit("/designer/bots/polyglot/translations/cell",
                          {"language": "cs", "id": "h1/text", "text": "Nazdar {{ name or 'ty' }}!"})
    assert saved.status_code == 200 and "Nazdar" in saved.text
    doc, _ = designer.draft("polyglot")
    assert doc["translations"]["cs"]["h1/text"] == "Nazdar {{ name or 'ty' }}!"
    assert doc["translationSources"]["cs"]["h1/text"] == translations.source_hash("Hello {{ name or 'there' }}!")
    wrong = designer.edit("/designer/bots/polyglot/translations/cell", {"language": "cs", "id": "h1/text",
                                                                        "text": "Nazdar {{ jmeno }}!"})
    assert wrong.status_code == 422 and "lacks {{ name }}" in wrong.text and "has {{ jmeno }}" in wrong.text
    cleared = designer.edit("/designer/bots/polyglot/translations/cell", {"language": "cs", "id": "h1/text",
                                                                          "text": ""})
    assert cleared.status_code == 200 and 'class="missing"' in cleared.text
    doc, _ = designer.draft("polyglot")
    assert "h1/text" not in doc["translations"]["cs"]
    assert any(p.pointer == "/translations/cs" and p.message.startswith("1 of ") for p in botdoc.validate(doc))


def test_csv_out_translated_by_a_script_into_a_third_language_and_back(designer, app):
    designer.post("/designer/bots/polyglot/settings/general", {"name": "Polyglot", "languages": "en, cs, de, pl"})
    exported = designer.client.get("/designer/bots/polyglot/translations/export.csv")
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert [row["id"] for row in table][:2] == ["h1/text", "h2/text"] and all(row["pl"] == "" for row in table)
    for row in table:  # the "translator": Polish words for the default, placeholders kept
        row["pl"] = row["en"].replace("Hello", "Cześć").replace("Tea", "Herbata")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "where", "en", "cs", "de", "pl"])
    writer.writeheader()
    writer.writerows(table)
    imported = upload(designer, out.getvalue().encode(), "polyglot-pl.csv")
    assert imported.status_code == 302, imported.text
    doc, _ = designer.draft("polyglot")
    assert doc["translations"]["pl"]["h1/text"] == "Cześć {{ name or 'there' }}!"
    problems = botdoc.validate(doc)
    assert not [p for p in problems if p.pointer.startswith("/translations")], problems


def test_xliff_1_2_out_and_back(designer):
    exported = designer.client.get("/designer/bots/polyglot/translations/de.xlf")
    assert exported.status_code == 200
    root = etree.fromstring(exported.data)
    assert root.get("version") == "1.2" and root.nsmap[None] == "urn:oasis:names:tc:xliff:document:1.2"
    ns = {"x": "urn:oasis:names:tc:xliff:document:1.2"}
    assert root.find("x:file", ns).get("target-language") == "de"
    unit = root.find(".//x:trans-unit[@id='h1/text']", ns)
    assert unit.find("x:source", ns).text == "Hello {{ name or 'there' }}!"
    unit.find("x:target", ns).text = "Servus {{ name or 'du' }}!"
    imported = upload(designer, etree.tostring(root, xml_declaration=True, encoding="UTF-8"), "de.xlf")
    assert imported.status_code == 302, imported.text
    assert designer.draft("polyglot")[0]["translations"]["de"]["h1/text"] == "Servus {{ name or 'du' }}!"


@pytest.mark.parametrize("body, name, said", [
    (b"id,where,en,cs\nh1/text,,Hello,Ahoj\nnope/text,,x,Ne\n", "a.csv",
     "Row 3: there is no text 'nope/text' in this bot"),
    (b"id,where,en,cs\nh1/text,,Hello,Ahoj {{ jmeno }}\n", "a.csv",
     "Row 2: The translation lacks {{ name }} and has {{ jmeno }}"),
    (b"id,where,en,cs\nh1/text,,Hello,Ahoj {{ name \n", "a.csv", "Row 2: the cs text is not a valid template"),
    (b"id,en,fr\nh1/text,Hello,Salut\n", "a.csv",
     "Row 1: the column 'fr' is not one of the bot's languages"),
    (b"where,en,cs\n", "a.csv", "Row 1: the header has no 'id' column"),
    (b"\xff\xfe\x00", "a.csv", "not UTF-8"),
    (b"<xliff", "a.xlf", "Not an XLIFF 1.2 file"),
])
def test_a_broken_import_is_refused_with_the_row_and_the_reason(designer, body, name, said):
    before = designer.draft("polyglot")
    refused = upload(designer, body, name)
    assert refused.status_code == 422 and said in html.unescape(refused.text), refused.text
    assert designer.draft("polyglot") == before  # nothing saved


def test_the_support_example_exported_translated_by_a_script_into_german_and_imported_speaks_it(designer):
    bot_id = designer.create_bot("Support", example="support")
    designer.post(f"/designer/bots/{bot_id}/settings/general", {"name": "Support", "languages": "en, cs, de"})
    exported = designer.client.get(f"/designer/bots/{bot_id}/translations/export.csv")
    table = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert table and all(row["cs"] for row in table) and not any(row["de"] for row in table)
    for row in table:  # the "translator": marks every text, keeps its placeholders as they are
        row["de"] = f"DE: {row['en']}"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "where", "en", "cs", "de"])
    writer.writeheader()
    writer.writerows(table)
    designer.csrf(f"/designer/bots/{bot_id}/translations")
    imported = designer.post(f"/designer/bots/{bot_id}/translations/import",
                             {"file": (io.BytesIO(out.getvalue().encode()), "support-de.csv")},
                             content_type="multipart/form-data")
    assert imported.status_code == 302, imported.text
    doc, _ = designer.draft(bot_id)
    assert not [p for p in botdoc.validate(doc) if p.pointer.startswith("/translations")]  # nothing missing
    bot = botdoc.load(doc)
    user, now = {"id": "u", "channel": "test"}, datetime(2026, 1, 1, tzinfo=UTC)
    said = engine.start(bot, {"name": "Eva"}, user=user, now=now, language="de-AT")
    assert [a["text"] for a in said.activities] == ["DE: Hello, Eva! I am the support bot.", "DE: How can I help?"]
    assert [a["title"] for a in said.activities[-1]["suggestedActions"]["actions"]][0] == "DE: Track an order"
    asked = engine.turn(bot, said.state, said.data, Input.message("DE: Track an order"), user=user, now=now)
    wrong = engine.turn(bot, asked.state, asked.data, Input.message("12"), user=user, now=now)
    assert [a["text"] for a in wrong.activities] == ["DE: Order numbers look like AB1234. Please try again."]


def test_a_step_form_shows_its_texts_beside_their_translations(designer):
    doc, _ = designer.draft("polyglot")
    designer.edit("/designer/bots/polyglot/translations/cell", {"language": "de", "id": "h2/options/1/title",
                                                                "text": ""})
    form = designer.client.get("/designer/bots/polyglot/steps/h2?dialog=hello", headers={"HX-Request": "true"})
    assert form.status_code == 200 and 'data-testid="step-translations"' in form.text
    cells = form.text.count('data-testid="translation-cell"')
    assert cells == 2 * len(list(translations.step_texts(doc["dialogs"][0]["steps"][1])))
    assert 'data-testid="step-translations" open' in form.text  # a text is missing in German: shown open
    assert "Kávu" in form.text and 'hx-target="closest .translation-cell"' in form.text


def test_a_formula_like_text_is_made_safe_in_the_csv_and_comes_back_as_it_was(designer):
    designer.edit("/designer/bots/polyglot/translations/cell", {"language": "cs", "id": "p1/text",
                                                                "text": "=HYPERLINK(\"x\") a -5 %"})
    exported = designer.client.get("/designer/bots/polyglot/translations/export.csv").data
    assert b"\"'=HYPERLINK(\"\"x\"\") a -5 %\"" in exported
    assert upload(designer, exported, "back.csv").status_code == 302
    assert designer.draft("polyglot")[0]["translations"]["cs"]["p1/text"] == "=HYPERLINK(\"x\") a -5 %"


def test_the_preview_runs_the_draft_in_the_language_picked(designer, app):
    editor = designer.client.get("/designer/bots/polyglot/edit")
    assert 'data-testid="preview-language"' in editor.text and '<option value="cs">cs</option>' in editor.text
    for asked, spoken in (("cs", "cs"), ("xx", "en"), ("", "en")):
        started = designer.client.post(f"/designer/bots/polyglot/preview?language={asked}",
                                       headers={"X-CSRFToken": designer.token})
        assert started.status_code == 200, started.text
        with app.app_context():
            assert db.session.get(Conversation, started.get_json()["conversationId"]).state["language"] == spoken


def test_a_broken_draft_says_to_fix_it_first_instead_of_failing(designer, app):
    with app.app_context():
        doc, revision = load_draft("polyglot")
        broken = {**doc, "dialogs": [{"id": "hello", "steps": [{"id": "h2", "type": "choice", "options": "nope"}]}]}
        save_draft("polyglot", broken, revision, label="broken")
        db.session.remove()
    for path in ("/designer/bots/polyglot/translations", "/designer/bots/polyglot/translations/export.csv",
                 "/designer/bots/polyglot/translations/cs.xlf"):
        page = designer.client.get(path)
        assert page.status_code == 422 and "problem(s) to fix in the editor first" in page.text, path
    cell = designer.edit("/designer/bots/polyglot/translations/cell", {"language": "cs", "id": "h2/text", "text": "x"})
    assert cell.status_code == 422 and "fix in the editor first" in cell.text


def test_a_choice_and_a_set_step_take_user_language_in_the_step_form(app, client):
    designer = Designer(app, client).sign_in()
    bot_id = designer.create_bot()
    choice = designer.add_step(bot_id, "choice", "welcome")
    saved = designer.edit(f"/designer/bots/{bot_id}/steps/{choice}", {
        "text": "Language?", "storage": "user.language", "options._count": "2",
        "options.0.title": "English", "options.0.value": "en", "options.1.title": "Česky", "options.1.value": "cs"})
    assert saved.status_code == 200, saved.text
    setter = designer.add_step(bot_id, "set", "welcome")
    assert designer.edit(f"/designer/bots/{bot_id}/steps/{setter}", {"storage": "user.language",
                                                                      "value": "'cs'"}).status_code == 200
    steps = designer.draft(bot_id)[0]["dialogs"][0]["steps"]
    assert [s.get("storage") for s in steps[1:]] == ["user.language", "user.language"]
    assert not [p for p in botdoc.validate(designer.draft(bot_id)[0]) if p.severity == "error"]
    designer.edit(f"/designer/bots/{bot_id}/steps/{setter}", {"storage": "user.name", "value": "'x'"})
    assert [p.pointer for p in botdoc.validate(designer.draft(bot_id)[0]) if p.severity == "error"] == [
        "/dialogs/0/steps/2/storage"]  # only user.language may have a dot: listed in Problems
