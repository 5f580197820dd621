"""A bot's settings: name and language, the editors and agents who may open it and the agents' canned answers
(admins only, designer/people.py and designer/agents.py). The snippet and the websites allowed to open the
widget are in the Share panel (share.py); what only developers need (keys, secrets, the outbox) is on the
Developers page (developers.py)."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from designer import bp, drafting
from designer.bots import get_bot_or_404
from runtime.botdoc.translations import LANGUAGE_PATTERN, language_name
from runtime.store import bot_access, canned
from runtime.store.drafts import StaleDraft, save_draft


def parse_languages(text: str) -> list[str]:
    """"en, cs, de" as the bot's languages, the default first; ValueError saying which tag is not a language."""
    tags = [t.strip().replace("_", "-") for t in text.replace(";", ",").split(",") if t.strip()]
    if not tags:
        raise ValueError("Name at least one language, such as en.")
    for tag in tags:
        if not re.fullmatch(LANGUAGE_PATTERN, tag) or language_name(tag) == tag:
            raise ValueError(f"'{tag[:40]}' is not a language tag Arbor knows; write tags such as en, cs, de or pt-BR, "
                             "separated by commas.")
    return list(dict.fromkeys(tags))[:20]


def _page(bot_id: str, status: int = 200, **extra):
    bot = get_bot_or_404(bot_id)
    doc, revision = drafting.current(bot_id)
    return render_template("designer/settings.html", bot=bot, doc=doc, revision=revision,
                           people=bot_access.people(bot_id) if current_user.is_admin else None,
                           editors=bot_access.editors() if current_user.is_admin else [],
                           answers=canned.listed(bot_id) if current_user.is_admin else None, **extra), status


@bp.get("/bots/<bot_id>/settings")
def settings(bot_id: str):
    return _page(bot_id)


@bp.post("/bots/<bot_id>/settings/general")
def settings_general(bot_id: str):
    get_bot_or_404(bot_id)
    name = request.form.get("name", "").strip()[:200]
    if not name:
        return _page(bot_id, 422, error="Give the bot a name.")
    try:
        languages = parse_languages(request.form.get("languages", "en"))
    except ValueError as e:
        return _page(bot_id, 422, error=str(e))
    doc, revision = drafting.current(bot_id)
    doc.update(name=name, languages=languages)
    try:
        save_draft(bot_id, doc, drafting.page_revision() or revision, label="Changed the name or language",
                   by=current_user.email)
    except StaleDraft:
        return _page(bot_id, 409, error=drafting.stale_message())
    flash("Saved. Publish the bot to show the new name to visitors.")
    return redirect(url_for("designer.settings", bot_id=bot_id))
