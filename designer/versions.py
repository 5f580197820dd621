"""Publishing: the draft becomes an immutable version; the version list; a version read-only; roll back
(a version becomes the draft again, after a confirmation); what changed between two versions, side by side;
the header's word on the draft (never published, published, unpublished changes)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from designer import bp, drafting
from designer.bots import get_bot_or_404
from designer.diff import describe
from designer.labels import branch_label, summary
from runtime import botdoc
from runtime.store import bots
from runtime.store.conversation_tests import TestsFailed
from runtime.store.drafts import StaleDraft, save_draft


@bp.get("/bots/<bot_id>/versions")
def version_list(bot_id: str):
    bot = get_bot_or_404(bot_id)
    versions = bots.list_versions(bot_id)
    old, new = request.args.get("from", type=int), request.args.get("to", type=int)
    changes = None
    if old is not None and new is not None:
        changes = describe(_doc(bot_id, old), _doc(bot_id, new))
    return render_template("designer/versions.html", bot=bot, versions=versions, changes=changes,
                           compare=(old, new))


def _doc(bot_id: str, number: int) -> dict:
    """A version in the current format, so two versions saved in different formats compare by what changed."""
    if not 0 <= number < 2**31:  # no version has a number the database cannot hold
        abort(404, str(bots.BotNotPublished(bot_id, number)))
    try:
        return botdoc.migrate(bots.get_version_doc(bot_id, number))
    except bots.BotNotPublished as e:
        abort(404, str(e))


@bp.post("/bots/<bot_id>/publish")
def publish(bot_id: str):
    get_bot_or_404(bot_id)
    note = request.form.get("note", "").strip()[:1000] or None
    seen = drafting.page_revision()
    if seen is not None and seen != drafting.current(bot_id)[1]:
        flash(drafting.stale_message(), "error")
        return redirect(url_for("designer.editor", bot_id=bot_id))
    try:
        version = bots.publish(bot_id, note, by=current_user.email)
    except botdoc.DocumentError as e:
        errors = [p for p in e.problems if p.severity == "error"]
        flash(f"Not published: the draft has {len(errors)} problem(s) to fix first. They are listed under "
              f"Problems.", "error")
        return redirect(url_for("designer.editor", bot_id=bot_id))
    except TestsFailed as e:
        flash(f"Not published: {e}", "error")
        return redirect(url_for("designer.tests", bot_id=bot_id))
    flash(f"Published version {version.number}. Visitors now talk with it.")
    target = request.form.get("next") or url_for("designer.version_list", bot_id=bot_id)
    return redirect(target if target.startswith("/designer/") else url_for("designer.version_list", bot_id=bot_id))


@bp.get("/bots/<bot_id>/versions/<int:number>")
def version_view(bot_id: str, number: int):
    bot = get_bot_or_404(bot_id)
    doc = _doc(bot_id, number)
    version = next((v for v in bots.list_versions(bot_id) if v.number == number), None)
    return render_template("designer/version.html", bot=bot, doc=doc, version=version, summary=summary,
                           branch_label=branch_label)


@bp.get("/bots/<bot_id>/status")
def bot_status(bot_id: str):
    """The header's word on the draft, fetched again after each autosave."""
    return render_template("designer/partials/_bot_status.html", bot=get_bot_or_404(bot_id))


@bp.route("/bots/<bot_id>/versions/<int:number>/rollback", methods=["GET", "POST"])
def version_rollback(bot_id: str, number: int):
    """Roll back in one action: a page that says what will happen, then Confirm (a POST) does it."""
    bot = get_bot_or_404(bot_id)
    doc = _doc(bot_id, number)
    if request.method == "GET":
        return render_template("designer/rollback.html", bot=bot, number=number,
                               revision=drafting.current(bot_id)[1], status=bots.draft_status(bot))
    _, revision = drafting.current(bot_id)
    seen = drafting.page_revision()
    try:
        if seen is not None and seen != revision:
            raise StaleDraft(bot_id, revision)
        saved = save_draft(bot_id, doc, revision, label=f"Rolled back to version {number}", by=current_user.email)
    except StaleDraft:
        flash(drafting.stale_message(), "error")
        return redirect(url_for("designer.editor", bot_id=bot_id))
    if number == bot.published_version:
        bots.draft_is_live(bot_id, saved)
        flash(f"The draft is version {number} again, the live version: nothing is left to publish.")
    else:
        flash(f"Version {number} is now the draft. Publish it to make it live; Undo in the editor takes it back.")
    return redirect(url_for("designer.editor", bot_id=bot_id))
