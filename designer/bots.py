"""The bots page: list and search, create (blank or from an example), import a JSON file, export,
duplicate and delete."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from designer import bp
from designer.labels import place
from designer.tree import new_id, shape_problem
from runtime import botdoc
from runtime.extensions import db
from runtime.store import bot_access, bots
from runtime.store.models import Bot


def examples() -> dict[str, dict]:
    """The example bots (examples/*.json) by file name, for "create from an example"."""
    found = {}
    for path in sorted((Path(current_app.root_path) / "examples").glob("*.json")):
        try:
            found[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return found


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
    return render_template(template, bots=found, query=query, examples=examples())


@bp.post("/bots")
def bot_create():
    example = examples().get(request.form.get("example", ""))
    name = request.form.get("name", "").strip()[:200] or (example or {}).get("name") or "New bot"
    bot_id = bots.free_id(name)
    doc = blank(bot_id, name) if example is None else {**example, "id": bot_id, "name": name}
    bots.import_bot(doc)
    bot_access.record_maker(bot_id, current_user)
    flash(f"Created {doc['name']}.")
    return redirect(url_for("designer.editor", bot_id=bot_id))


def blank(bot_id: str, name: str) -> dict:
    taken: set[str] = {"welcome"}
    return {"format": botdoc.CURRENT_FORMAT, "id": bot_id, "name": name, "locale": "en", "start": "welcome",
            "dialogs": [{"id": "welcome", "title": "Welcome", "steps": [
                {"id": new_id(taken, "message"), "type": "message", "text": "Hello! How can I help you?"}]}]}


@bp.route("/import", methods=["GET", "POST"])
def bot_import():
    if request.method == "GET":
        return render_template("designer/import.html", problems=None)
    upload = request.files.get("file")
    limit = current_app.config["ARBOR_MAX_DOCUMENT_BYTES"]
    kept = request.form.get("document")  # "import anyway" sends back the file it was shown
    if kept is None and (upload is None or not upload.filename):
        return _import_refused([botdoc.Problem("", "Choose a .json file to import.")])
    if kept is None:
        upload.stream.seek(0, 2)
        size = upload.stream.tell()
        upload.stream.seek(0)
        if size > limit:
            return _import_refused([botdoc.Problem("", f"The file is {size / 2**20:.1f} MB; a bot may be at most "
                                                       f"{limit / 2**20:.1f} MB. Is it the right file?")])
    try:
        text = kept if kept is not None else upload.read()
        doc = botdoc.parse(text, max_bytes=limit)
    except botdoc.DocumentError as e:
        return _import_refused(e.problems)
    if not isinstance(doc.get("id"), str) or not doc["id"]:
        return _import_refused([botdoc.Problem("", "This JSON is not a bot: a bot has an \"id\" and a list of "
                                                   "\"dialogs\".")])
    shape = shape_problem(doc)
    wanted_id = doc["id"]
    problems = botdoc.validate(doc)
    errors = [p for p in problems if p.severity == "error"]
    if errors and (request.form.get("anyway") != "1" or shape):
        return render_template("designer/import.html", problems=_in_words(doc, problems), can_keep=True,
                               filename=upload.filename if upload else "the file", shape=shape,
                               document=text if isinstance(text, str) else text.decode()), 422
    doc["id"] = bots.free_id(wanted_id)
    try:
        bots.import_bot(doc, keep_problems=bool(errors))
    except botdoc.DocumentError as e:
        return _import_refused(e.problems)
    bot_access.record_maker(doc["id"], current_user)
    renamed = f" as '{doc['id']}' (a bot '{wanted_id}' exists)" if doc["id"] != wanted_id else ""
    flash(f"Imported {doc.get('name') or doc['id']}{renamed}." + (" Fix the problems listed before publishing."
                                                                   if errors else ""))
    return redirect(url_for("designer.editor", bot_id=doc["id"]))


def _import_refused(problems: list[botdoc.Problem]):
    return render_template("designer/import.html", problems=_in_words({}, problems), can_keep=False), 422


def _in_words(doc: dict, problems: list[botdoc.Problem]) -> list[tuple[botdoc.Problem, str]]:
    return [(p, place(doc, p.pointer)[2] if p.pointer else "the whole file") for p in problems]


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
