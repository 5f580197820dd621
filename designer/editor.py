"""The tree editor: the page, and the htmx endpoints that change dialogs and steps of the draft.

Every change goes through `drafting.edit` (revision check, undo history) and answers with the part of
the page it changed: the dialog's tree, or the dialog list.
"""

from __future__ import annotations

import json

from flask import render_template, request, url_for

from designer import bp, drafting, insight, share, tree
from designer.bots import get_bot_or_404
from designer.drafting import Refused, answer, refused
from designer.labels import place, step_menu
from runtime import botdoc
from runtime.insight.period import Period
from runtime.store.drafts import StaleDraft, undo, undo_label


def _dialog_id(doc: dict, wanted: str | None) -> str | None:
    dialogs = [d.get("id") for d in doc.get("dialogs", [])]
    if wanted in dialogs:
        return wanted
    return doc.get("start") if doc.get("start") in dialogs else (dialogs[0] if dialogs else None)


@bp.get("/bots/<bot_id>/edit")
def editor(bot_id: str):
    bot = get_bot_or_404(bot_id)
    doc, revision = drafting.current(bot_id)
    dialog_id = _dialog_id(doc, request.args.get("dialog"))
    days = request.args.get("days", type=int)
    counts = insight.step_bars(bot_id, doc, Period.last_days(max(1, min(days, 366)))) if days else None
    return render_template("designer/editor.html", bot=bot, doc=doc, revision=revision, dialog_id=dialog_id,
                           counts=counts, days=days,
                           selected=request.args.get("step"), menu=step_menu(), storages=tree.storages(doc),
                           undo=undo_label(bot_id))


def _tree(bot_id: str, doc: dict, dialog_id: str, revision: int, selected: str | None = None):
    """The dialog's tree; after a change to the dialogs themselves, their list too (out of band)."""
    body = render_template("designer/partials/_tree.html", bot_id=bot_id, doc=doc, dialog_id=dialog_id,
                           selected=selected, oob_dialogs="/dialogs" in request.path)
    headers = {"HX_Trigger_After_Settle": json.dumps({"selectStep": selected})} if selected else {}
    return answer(body, revision, HX_Trigger="draftChanged", **headers)


def _edit(bot_id: str, label: str, change, dialog_id: str | None = None, selected: str | None = None):
    try:
        doc, revision, result = drafting.edit(bot_id, label, change)
    except Refused as e:
        return refused(e)
    where = dialog_id or request.form.get("dialog") or ""
    chosen = result["id"] if isinstance(result, dict) and "id" in result and "type" in result else selected
    return _tree(bot_id, doc, _dialog_id(doc, where), revision, chosen)


# --- dialogs -------------------------------------------------------------------------------------

@bp.post("/bots/<bot_id>/dialogs")
def dialog_add(bot_id: str):
    title = request.form.get("title", "").strip()[:200] or "New dialog"

    def add(doc: dict) -> dict:
        base = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")[:40] or "dialog"
        taken = drafting.taken_ids(doc)
        dialog_id, n = base, 1
        while dialog_id in taken:
            n += 1
            dialog_id = f"{base}-{n}"
        taken.add(dialog_id)
        doc.setdefault("dialogs", []).append({"id": dialog_id, "title": title, "steps": []})
        return {"dialog": dialog_id}

    try:
        doc, revision, made = drafting.edit(bot_id, f"Added dialog {title}", add)
    except Refused as e:
        return refused(e)
    return _tree(bot_id, doc, made["dialog"], revision)


@bp.post("/bots/<bot_id>/dialogs/<dialog_id>/rename")
def dialog_rename(bot_id: str, dialog_id: str):
    title = request.form.get("title", "").strip()[:200]

    def rename(doc: dict) -> None:
        found = tree.dialog(doc, dialog_id)  # the bot and dialog the URL names first (404), then the form (422)
        if not title:
            raise tree.EditError("Give the dialog a name.")
        found["title"] = title

    return _edit(bot_id, f"Renamed dialog to {title}", rename, dialog_id)


@bp.post("/bots/<bot_id>/dialogs/<dialog_id>/delete")
def dialog_delete(bot_id: str, dialog_id: str):
    def delete(doc: dict) -> None:
        if len(doc.get("dialogs", [])) == 1:
            raise tree.EditError("A bot needs at least one dialog; add another before deleting this one.")
        leads = tree.gotos_to(doc, dialog_id)
        if leads:
            where = ", ".join(f"“{s.get('title') or s['id']}” in {d.get('title') or d['id']}" for d, s in leads[:5])
            raise tree.EditError(f"{len(leads)} step(s) lead to this dialog ({where}). Point them elsewhere first.")
        if any(t.get("dialog") == dialog_id for t in doc.get("triggers", [])) or doc.get("fallback") == dialog_id:
            raise tree.EditError("A page-event trigger or the fallback uses this dialog. Change that first.")
        doc["dialogs"].remove(tree.dialog(doc, dialog_id))
        if doc.get("start") == dialog_id:
            doc["start"] = doc["dialogs"][0]["id"]

    return _edit(bot_id, "Deleted a dialog", delete, "")


@bp.post("/bots/<bot_id>/dialogs/order")
def dialog_order(bot_id: str):
    wanted = request.form.getlist("order")

    def reorder(doc: dict) -> None:
        by_id = {d["id"]: d for d in doc.get("dialogs", [])}
        if sorted(wanted) != sorted(by_id):
            raise tree.EditError("The dialogs changed meanwhile; reload the page.")
        doc["dialogs"] = [by_id[i] for i in wanted]

    return _edit(bot_id, "Reordered dialogs", reorder)


@bp.post("/bots/<bot_id>/dialogs/<dialog_id>/start")
def dialog_start(bot_id: str, dialog_id: str):
    def mark(doc: dict) -> None:
        tree.dialog(doc, dialog_id)
        doc["start"] = dialog_id

    return _edit(bot_id, "Changed the start dialog", mark, dialog_id)


# --- steps ---------------------------------------------------------------------------------------

def _place() -> tree.Place:
    return tree.Place.parse(request.form.get("place", ""))


def _index() -> int | None:
    raw = request.form.get("index", "")
    return int(raw) if raw.lstrip("-").isdigit() else None


@bp.post("/bots/<bot_id>/steps")
def step_add(bot_id: str):
    get_bot_or_404(bot_id)  # the bot the URL names first (404), then the form (422)
    kind = request.form.get("type", "")
    try:
        place = _place()
    except tree.EditError as e:
        return answer(str(e), status=422)

    def add(doc: dict) -> dict:
        return tree.insert(doc, place, _index(), tree.new_step(doc, kind, place.dialog, drafting.taken_ids(doc)))

    return _edit(bot_id, f"Added a {kind} step", add, place.dialog)


@bp.post("/bots/<bot_id>/steps/<step_id>/move")
def step_move(bot_id: str, step_id: str):
    def move(doc: dict) -> None:
        tree.locate(doc, step_id, request.form.get("dialog"))  # the step the URL names first (404), then the form
        tree.move(doc, step_id, _place(), _index() or 0)

    return _edit(bot_id, "Moved a step", move, request.form.get("place", "").partition("|")[0], step_id)


@bp.post("/bots/<bot_id>/steps/<step_id>/shift")
def step_shift(bot_id: str, step_id: str):
    """Move a step one place up or down in its list: drag and drop for the keyboard."""
    delta = -1 if request.form.get("direction") == "up" else 1

    def shift(doc: dict) -> None:
        _, holder, i, _ = tree.locate(doc, step_id, request.form.get("dialog"))
        if 0 <= i + delta < len(holder):
            holder.insert(i + delta, holder.pop(i))

    return _edit(bot_id, "Moved a step", shift, None, step_id)


@bp.post("/bots/<bot_id>/steps/<step_id>/delete")
def step_delete(bot_id: str, step_id: str):
    return _edit(bot_id, "Deleted a step", lambda doc: tree.remove(doc, step_id, request.form.get("dialog")) and None)


@bp.post("/bots/<bot_id>/steps/<step_id>/duplicate")
def step_duplicate(bot_id: str, step_id: str):
    return _edit(bot_id, "Duplicated a step", lambda doc: tree.duplicate(doc, step_id, drafting.taken_ids(doc)))


@bp.post("/bots/<bot_id>/undo")
def draft_undo(bot_id: str):
    get_bot_or_404(bot_id)
    try:
        done = undo(bot_id, drafting.page_revision() or -1)
    except StaleDraft:
        return answer(drafting.stale_message(), status=409)
    if done is None:
        return answer("There is nothing to undo.", status=422)
    dialog = request.form.get("dialog", "")
    return answer("", done[0], HX_Redirect=url_for("designer.editor", bot_id=bot_id, dialog=dialog or None,
                                                    undone=done[1]))


@bp.get("/bots/<bot_id>/problems")
def problems(bot_id: str):
    doc, _ = drafting.current(bot_id)
    found = botdoc.validate(doc)
    places = [place(doc, p.pointer) for p in found]
    return render_template("designer/partials/_problems.html", bot_id=bot_id,
                           problems=list(zip(found, places, strict=True)), refused=share.refused_websites(bot_id))
