"""A bot's translation table: every text a visitor sees, a column per language, empty cells marked; a cell
is saved as it is changed (htmx); the whole table goes out and comes back as CSV or XLIFF 1.2."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from designer import bp, drafting
from designer.bots import get_bot_or_404
from designer.drafting import Refused, answer
from designer.translation_files import Cell, ImportRefused, export_csv, export_xliff, merge, read, rows
from runtime import botdoc
from runtime.botdoc import translations
from runtime.store.drafts import StaleDraft, save_draft

MAX_UPLOAD = 5 * 1024 * 1024


def _page(bot_id: str, status: int = 200, **extra):
    bot = get_bot_or_404(bot_id)
    doc, revision = drafting.current(bot_id)
    broken = _broken(doc)
    if broken:  # a draft kept from an import that failed: its texts cannot be listed until the tree is fixed
        return render_template("designer/translations.html", bot=bot, revision=revision, languages=["en"], rows=[],
                               missing={}, stale=set(), names={"en": "English"}, errors=[
                                   f"The draft has {len(broken)} problem(s) to fix in the editor first (see "
                                   f"Problems), for example at {broken[0].pointer or '/'}: {broken[0].message}"]), 422
    langs = translations.languages(doc)
    found = rows(doc)
    stale = _stale(doc)
    missing = {lang: sum(1 for row in found if not row["texts"][lang]) for lang in langs[1:]}
    return render_template("designer/translations.html", bot=bot, revision=revision, languages=langs, rows=found,
                           missing=missing, stale=stale, names={lang: translations.language_name(lang)
                                                                 for lang in langs}, **extra), status


def _broken(doc: dict) -> list[botdoc.Problem]:
    """The draft's errors outside its translations: until they are fixed its texts cannot be listed."""
    return [p for p in botdoc.validate(doc) if p.severity == "error" and not p.pointer.startswith("/translations")]


def _stale(doc: dict) -> set[tuple[str, str]]:
    """(language, text id) of translations made from a default text that has changed since."""
    sources = doc.get("translationSources") or {}
    return {(lang, text_id) for text_id, _, source in translations.texts(doc)
            for lang, hashes in sources.items()
            if hashes.get(text_id) and hashes[text_id] != translations.source_hash(source)}


@bp.get("/bots/<bot_id>/translations")
def translations_page(bot_id: str):
    return _page(bot_id)


@bp.post("/bots/<bot_id>/translations/cell")
def translation_cell(bot_id: str):
    """Save one cell; an empty one removes the translation (the default text is shown again)."""
    get_bot_or_404(bot_id)
    language, text_id, text = (request.form.get(k, "") for k in ("language", "id", "text"))

    def change(doc: dict) -> dict:
        if _broken(doc):
            raise Refused(422, "The draft has problems to fix in the editor first (see Problems).")
        if language not in translations.languages(doc)[1:]:
            raise Refused(422, f"'{language[:40]}' is not a language this bot is translated into.")
        try:
            new, _ = merge(doc, [Cell(f"The text '{text_id[:80]}'", text_id, language, text, None)])
        except ImportRefused as e:
            raise Refused(422, e.errors[0]) from None
        if not text.strip():
            new["translations"].get(language, {}).pop(text_id, None)
            new["translationSources"].get(language, {}).pop(text_id, None)
        doc.clear()
        doc.update(new)
        return doc

    try:
        doc, revision, _ = drafting.edit(bot_id, f"Translated a text into {translations.language_name(language)}",
                                         change)
    except Refused as e:
        return drafting.refused(e)
    saved = (doc.get("translations") or {}).get(language, {}).get(text_id, "")
    return answer(render_template("designer/partials/_translation_cell.html", bot_id=bot_id, language=language,
                                  text_id=text_id, text=saved, stale=False), revision)


@bp.get("/bots/<bot_id>/translations/export.csv")
def translations_csv(bot_id: str):
    get_bot_or_404(bot_id)
    doc, _ = drafting.current(bot_id)
    if _broken(doc):
        return _page(bot_id)
    return Response(export_csv(doc), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{bot_id}-translations.csv"'})


@bp.get("/bots/<bot_id>/translations/<language>.xlf")
def translations_xliff(bot_id: str, language: str):
    get_bot_or_404(bot_id)
    doc, _ = drafting.current(bot_id)
    if _broken(doc):
        return _page(bot_id)
    if language not in translations.languages(doc)[1:]:
        return _page(bot_id, 404, errors=[f"This bot is not translated into '{language[:40]}'; add the language "
                                          "in its settings first."])
    return Response(export_xliff(doc, language), mimetype="application/x-xliff+xml",
                    headers={"Content-Disposition": f'attachment; filename="{bot_id}-{language}.xlf"'})


@bp.post("/bots/<bot_id>/translations/import")
def translations_import(bot_id: str):
    """A CSV or XLIFF file in; every wrong row is listed and nothing is saved, or all of it is."""
    get_bot_or_404(bot_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(bot_id, 422, errors=["Choose a .csv or .xlf file to import."])
    data = upload.stream.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return _page(bot_id, 422, errors=[f"The file is larger than {MAX_UPLOAD // 2**20} MB; is it the right one?"])
    doc, revision = drafting.current(bot_id)
    if _broken(doc):
        return _page(bot_id)
    try:
        new, changed = merge(doc, read(data, upload.filename, doc))
    except ImportRefused as e:
        return _page(bot_id, 422, errors=e.errors, filename=upload.filename)
    try:
        save_draft(bot_id, new, drafting.page_revision() or revision,
                   label=f"Imported translations ({upload.filename[:100]})", by=current_user.email)
    except StaleDraft:
        return _page(bot_id, 409, errors=[drafting.stale_message()])
    flash(f"Imported {upload.filename}: {changed} text{'' if changed == 1 else 's'} changed.")
    return redirect(url_for("designer.translations_page", bot_id=bot_id))
