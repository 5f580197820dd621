"""Advanced: the draft as JSON, read-only, and an editor that validates before it saves."""

from __future__ import annotations

import json

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from designer import bp, drafting
from designer.bots import get_bot_or_404
from runtime import botdoc
from runtime.store.drafts import StaleDraft, save_draft


@bp.get("/bots/<bot_id>/json")
def advanced(bot_id: str):
    bot = get_bot_or_404(bot_id)
    doc, revision = drafting.current(bot_id)
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    return render_template("designer/advanced.html", bot=bot, text=text, revision=revision, problems=None,
                           editing=request.args.get("edit") == "1")


@bp.post("/bots/<bot_id>/json")
def advanced_save(bot_id: str):
    bot = get_bot_or_404(bot_id)
    text = request.form.get("document", "")
    _, revision = drafting.current(bot_id)
    try:
        doc = botdoc.parse(text, max_bytes=current_app.config["ARBOR_MAX_DOCUMENT_BYTES"])
        problems = botdoc.validate(doc)
        if doc.get("id") != bot_id:
            problems = [botdoc.Problem("/id", f"The id must stay “{bot_id}”; duplicate the bot to make another."),
                        *problems]
    except botdoc.DocumentError as e:
        problems = e.problems
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return render_template("designer/advanced.html", bot=bot, text=text, revision=revision, problems=errors,
                               editing=True), 422
    try:
        save_draft(bot_id, botdoc.migrate(doc), drafting.page_revision() or revision, label="Edited the JSON",
                   by=current_user.email)
    except StaleDraft:
        return render_template("designer/advanced.html", bot=bot, text=text, revision=revision, editing=True,
                               problems=[botdoc.Problem("", drafting.stale_message())]), 409
    flash("Saved the JSON as the draft.")
    return redirect(url_for("designer.editor", bot_id=bot_id))
