"""The preview panel: a conversation with the DRAFT in the real webchat widget, the step it is at and
the user data so far. The designer opens the conversation itself (the store runs version 0, the draft)
and hands the widget a Direct Line token for it."""

from __future__ import annotations

import uuid

from flask import abort, jsonify, render_template, request
from flask_login import current_user

from designer import bp, drafting, tree
from designer.bots import get_bot_or_404
from designer.labels import summary
from runtime import botdoc
from runtime.botdoc import translations
from runtime.channels.directline import tokens
from runtime.extensions import db
from runtime.store import bots
from runtime.store.models import BotUser, Conversation
from runtime.turns.turn import start_conversation


@bp.post("/bots/<bot_id>/preview")
def preview_start(bot_id: str):
    get_bot_or_404(bot_id)
    doc, _ = drafting.current(bot_id)
    errors = [p for p in botdoc.validate(doc) if p.severity == "error"]
    if errors:
        return jsonify(error=f"The draft has {len(errors)} problem(s); fix them (see Problems) to try it."), 422
    user_id = f"preview-{current_user.id}-{uuid.uuid4().hex[:12]}"
    language = request.args.get("language", "")  # the preview's language picker: one of the draft's languages
    conversation, _ = start_conversation(bot_id, user_id, "webchat", version=bots.DRAFT,
                                         languages=[language] if language in translations.languages(doc) else None)
    grant = tokens.Grant(bot_id, conversation.id, user_id)
    return jsonify(token=tokens.issue(grant), conversationId=conversation.id)


@bp.get("/bots/<bot_id>/preview/<conversation_id>")
def preview_state(bot_id: str, conversation_id: str):
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or conversation.bot_id != bot_id or conversation.bot_version != bots.DRAFT:
        abort(404, "That preview conversation is gone; restart the preview.")
    user = db.session.get(BotUser, (bot_id, conversation.user_id))
    state = conversation.state or {}
    waiting = state.get("waiting") or {}
    stack = state.get("stack") or []
    step_id = waiting.get("step") or (stack[-1].get("step") if stack else None)
    dialog_id = stack[-1].get("dialog") if stack else None
    return render_template("designer/partials/_preview_state.html", bot_id=bot_id, step_id=step_id,
                           conversation_id=conversation_id, at=_where(bot_id, dialog_id, step_id),
                           dialog_id=dialog_id,
                           ended=state.get("ended"), data=(user.data if user else {}) or {},
                           poll=request.args.get("poll", "1") == "1")


def _where(bot_id: str, dialog_id: str | None, step_id: str | None) -> tuple[str, str] | None:
    """(the step's line as the tree shows it, its dialog's title) for "Now at", never an internal id."""
    if not step_id:
        return None
    doc, _ = drafting.current(bot_id)
    try:
        step, _, _, dialog = tree.locate(doc, step_id, dialog_id)
    except tree.EditError:
        return None  # the step was deleted from the draft since: the link still jumps to where it was
    return summary(step), dialog.get("title") or dialog.get("id")
