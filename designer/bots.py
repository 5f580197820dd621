"""The bots page: list and search, create (from the gallery, designer/gallery.py), import a JSON file, export,
duplicate and delete."""

from __future__ import annotations

import json
import re

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from designer import bp, gallery, kept_imports
from designer.labels import place
from designer.tree import shape_problem
from runtime import botdoc
from runtime.extensions import db
from runtime.store import bot_access, bots
from runtime.store.models import Bot


def get_bot_or_404(bot_id: str) -> Bot:
    try:
        return bots.get_bot(bot_id)
    except bots.BotNotFound as e:
        abort(404, str(e))


@bp.get("/")
def bot_list():
    query = request.args.get("q", "").strip()
    statement = bot_access.visible(select(Bot).order_by(Bot.name, Bot.id), current_user)
    if query:
        like = f"%{query.lower()}%"
        statement = statement.where(or_(db.func.lower(Bot.name).like(like), db.func.lower(Bot.id).like(like)))
    found = list(db.session.scalars(statement))
    template = "designer/partials/_bot_rows.html" if request.htmx else "designer/bots.html"
    return render_template(template, bots=found, query=query, gallery=gallery.cards())


@bp.post("/bots")
def bot_create():
    """A new bot from the gallery: blank, or a copy of an example; either comes with its conversation tests."""
    key = request.form.get("example", "")
    example = gallery.examples().get(key)
    name = request.form.get("name", "").strip()[:200] or (example or {}).get("name") or "New bot"
    bot_id = bots.free_id(name)
    doc = gallery.document(key, bot_id, name)
    bots.import_bot(doc)
    tests = len(gallery.import_tests(key, bot_id))
    bot_access.record_maker(bot_id, current_user)
    flash(f"Created {doc['name']}. It comes with {tests} conversation test{'s' if tests != 1 else ''} "
          "(Results → Tests).")
    return redirect(url_for("designer.editor", bot_id=bot_id))


# A document comes in as a multipart upload (the import page) or a form field (the JSON editor, where
# percent-encoding may triple its bytes); the rest of the form (CSRF token, a few small fields) fits in this.
FORM_SLACK_BYTES = 64 * 1024
DOCUMENT_VIEWS = {"designer.bot_import": 1, "designer.advanced_save": 3}  # view: bytes on the wire per byte
MAX_PROBLEMS_SHOWN = 50
EXCERPT_CHARS = 240  # of the document, around a problem: never more of a rejected file goes back


@bp.before_app_request
def refuse_oversized_documents():
    """Refuse a document larger than ARBOR_MAX_DOCUMENT_BYTES by its Content-Length, before any of it is read.

    This runs before the designer's guard, whose CSRF check would read (and spool to disk) the whole form.
    A body without a Content-Length is capped as it is read (werkzeug's max_content_length: 413).
    """
    expansion = DOCUMENT_VIEWS.get(request.endpoint or "")
    if expansion is None or request.method != "POST":
        return None
    limit = current_app.config["ARBOR_MAX_DOCUMENT_BYTES"]
    request.max_content_length = limit * expansion + FORM_SLACK_BYTES
    if request.content_length is None or request.content_length <= request.max_content_length:
        return None
    if request.endpoint != "designer.bot_import":
        abort(413, f"The edited document is too large: a bot may be at most {limit / 2**20:.1f} MB "
                   "(ARBOR_MAX_DOCUMENT_BYTES). Your text was not saved; shorten it or split the bot.")
    refused = botdoc.too_large(request.content_length, limit)
    if current_user.is_authenticated:
        return _import_refused([refused], status=413)
    abort(413, refused.message)


@bp.route("/import", methods=["GET", "POST"])
def bot_import():
    if request.method == "GET":
        return render_template("designer/import.html", problems=None)
    limit = current_app.config["ARBOR_MAX_DOCUMENT_BYTES"]
    kept_id = request.form.get("kept")  # "import anyway" names the file it was shown, kept on the server
    if kept_id is not None:
        data = kept_imports.take(kept_id, current_user.id)
        if data is None:
            return _import_refused([botdoc.Problem("", "That file is no longer kept (files are kept for "
                                                       f"{kept_imports.KEEP_SECONDS // 60} minutes). "
                                                       "Choose it again.")])
        filename = request.form.get("filename", "")[:200] or "the file"
    else:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return _import_refused([botdoc.Problem("", "Choose a .json file to import.")])
        upload.stream.seek(0, 2)
        size = upload.stream.tell()
        upload.stream.seek(0)
        refused = botdoc.too_large(size, limit)
        if refused:
            return _import_refused([refused], status=413)
        data, filename = upload.read(), upload.filename[:200]
    try:
        doc = botdoc.parse(data, max_bytes=limit)
    except botdoc.DocumentError as e:
        return _import_refused(e.problems, text=data)
    if not isinstance(doc.get("id"), str) or not doc["id"]:
        return _import_refused([botdoc.Problem("", "This JSON is not a bot: a bot has an \"id\" and a list of "
                                                   "\"dialogs\".")])
    problems = botdoc.validate(doc)
    errors = [p for p in problems if p.severity == "error"]
    too_big = any("(ARBOR_MAX_STEPS)" in p.message for p in errors)  # refused before it was checked at all
    shape = None if too_big else shape_problem(doc)
    wanted_id = doc["id"]
    if too_big or (errors and (request.form.get("anyway") != "1" or shape)):
        offer = not too_big and not shape  # "import anyway": a draft the editor can open and mend
        kept = kept_id if kept_id is not None else (kept_imports.keep(data, current_user.id) if offer else None)
        return render_template("designer/import.html", problems=_in_words(doc, problems), can_keep=not too_big,
                               filename=filename, shape=shape, kept=kept,
                               more=max(0, len(problems) - MAX_PROBLEMS_SHOWN)), 422
    doc["id"] = bots.free_id(wanted_id)
    try:
        bots.import_bot(doc, keep_problems=bool(errors))
    except botdoc.DocumentError as e:
        return _import_refused(e.problems)
    if kept_id is not None:
        kept_imports.drop(kept_id, current_user.id)
    bot_access.record_maker(doc["id"], current_user)
    renamed = f" as '{doc['id']}' (a bot '{wanted_id}' exists)" if doc["id"] != wanted_id else ""
    flash(f"Imported {doc.get('name') or doc['id']}{renamed}." + (" Fix the problems listed before publishing."
                                                                   if errors else ""))
    return redirect(url_for("designer.editor", bot_id=doc["id"]))


def _import_refused(problems: list[botdoc.Problem], *, status: int = 422, text: bytes | None = None):
    shown = _in_words({}, problems)
    if text is not None and len(shown) == 1:  # a JSON syntax error: the text around its line and column
        shown = [(p, words, message, _text_excerpt(text, p.message)) for p, words, message, _ in shown]
    return render_template("designer/import.html", problems=shown, can_keep=False,
                           more=max(0, len(problems) - MAX_PROBLEMS_SHOWN)), status


def _in_words(doc: dict, problems: list[botdoc.Problem]) -> list[tuple[botdoc.Problem, str, str, str]]:
    """(problem, its place in words, its message, an excerpt of the document there) for the first
    MAX_PROBLEMS_SHOWN problems; messages and excerpts are cut short, so the page never carries the file."""
    return [(p, place(doc, p.pointer)[2] if p.pointer else "the whole file", _short(p.message, 500),
             _excerpt(doc, p.pointer)) for p in problems[:MAX_PROBLEMS_SHOWN]]


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def _excerpt(doc: dict, pointer: str) -> str:
    """The JSON at a problem's place, at most EXCERPT_CHARS long ("" for the whole document)."""
    if not pointer:
        return ""
    node = doc
    for part in (p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]):
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return ""
    try:
        return _short(json.dumps(node, ensure_ascii=False), EXCERPT_CHARS)
    except (TypeError, ValueError):
        return ""


def _text_excerpt(data: bytes | str, message: str) -> str:
    """The text around "line L, column C" of a JSON syntax error, at most EXCERPT_CHARS long."""
    found = re.search(r"line (\d+), column (\d+)", message)
    if not found:
        return ""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    line, column = int(found[1]), int(found[2])
    offset = sum(len(chunk) for chunk in text.splitlines(keepends=True)[:line - 1]) + column - 1
    half = EXCERPT_CHARS // 2
    return text[max(0, offset - half):offset + half]


@bp.get("/bots/<bot_id>/export")
def bot_export(bot_id: str):
    get_bot_or_404(bot_id)
    number = request.args.get("version", type=int, default=bots.DRAFT)
    try:
        doc = bots.get_version_doc(bot_id, number)
    except bots.BotNotPublished as e:
        abort(404, str(e))
    suffix = f"-v{number}" if number else "-draft"
    return Response(json.dumps(doc, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{bot_id}{suffix}.json"'})


@bp.post("/bots/<bot_id>/duplicate")
def bot_duplicate(bot_id: str):
    bot = get_bot_or_404(bot_id)
    name = f"{bot.name} (copy)"
    doc = {**bot.draft, "id": bots.free_id(f"{bot_id}-copy"), "name": name}
    bots.import_bot(doc, keep_problems=any(p.severity == "error" for p in botdoc.validate(doc)))
    bot_access.record_maker(doc["id"], current_user)
    flash(f"Made a copy: {name}.")
    return redirect(url_for("designer.bot_list"))


@bp.route("/bots/<bot_id>/delete", methods=["GET", "POST"])
def bot_delete(bot_id: str):
    bot = get_bot_or_404(bot_id)
    if request.method == "POST":
        if request.form.get("confirm", "").strip() != bot.id:
            return render_template("designer/delete.html", bot=bot,
                                   error=f"Type {bot.id} to confirm."), 422
        bots.delete_bot(bot_id)
        flash(f"Deleted {bot.name}.")
        current_app.logger.info("bot %s deleted by %s", bot_id, current_user.email)
        return redirect(url_for("designer.bot_list"))
    return render_template("designer/delete.html", bot=bot, error=None)
