"""A bot's settings: name and language, the editors and agents who may open it and the agents' canned answers
(admins only, designer/people.py and designer/agents.py),
secrets (write-only), the embed snippet, the Direct Line secret, the websites allowed to open the widget,
management API keys, and the outbox (the SMTP server and SMS provider of the `email` and `sms` steps;
their password and token are write-only)."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from designer import bp, drafting
from designer.bots import get_bot_or_404
from runtime.botdoc.translations import LANGUAGE_PATTERN, language_name
from runtime.channels.directline import secret as directline_secret
from runtime.channels.directline.cors import allowed_origins, set_allowed_origins
from runtime.management import keys as function_keys
from runtime.management import settings as outbox
from runtime.store import bot_access, canned, secrets
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
                           secrets=secrets.listed(bot_id), origins=allowed_origins(bot_id),
                           server=request.host_url.rstrip("/"), keys=function_keys.list_keys(bot_id),
                           smtp=outbox.shown(bot_id, "smtp"), sms=outbox.shown(bot_id, "sms"),
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


@bp.post("/bots/<bot_id>/settings/secrets")
def settings_secret(bot_id: str):
    get_bot_or_404(bot_id)
    try:
        secrets.set_secret(bot_id, request.form.get("name", "").strip(), request.form.get("value", ""),
                           bound_to=request.form.get("address", "").strip())
    except ValueError as e:
        return _page(bot_id, 422, secret_error=str(e))
    flash(f"Secret {request.form['name'].strip()} saved. It is not shown again.")
    return redirect(url_for("designer.settings", bot_id=bot_id) + "#secrets")


@bp.post("/bots/<bot_id>/settings/secrets/<name>/delete")
def settings_secret_delete(bot_id: str, name: str):
    get_bot_or_404(bot_id)
    secrets.delete_secret(bot_id, name)
    flash(f"Secret {name} deleted.")
    return redirect(url_for("designer.settings", bot_id=bot_id) + "#secrets")


@bp.post("/bots/<bot_id>/settings/directline")
def settings_directline(bot_id: str):
    get_bot_or_404(bot_id)
    value, _ = directline_secret.reveal(bot_id, regenerate=True)
    return _page(bot_id, new_secret=value)


@bp.post("/bots/<bot_id>/settings/origins")
def settings_origins(bot_id: str):
    get_bot_or_404(bot_id)
    lines = [line for line in request.form.get("origins", "").splitlines() if line.strip()]
    try:
        set_allowed_origins(bot_id, lines)
    except ValueError as e:
        return _page(bot_id, 422, origins_error=str(e), origins_text=request.form.get("origins", ""))
    flash("Allowed websites saved.")
    return redirect(url_for("designer.settings", bot_id=bot_id) + "#embed")


@bp.post("/bots/<bot_id>/settings/keys")
def settings_key(bot_id: str):
    """A management API function key, shown on this page once."""
    get_bot_or_404(bot_id)
    try:
        row, key = function_keys.create_key(bot_id, request.form.get("name", ""))
    except ValueError as e:  # KeyNameTaken is one
        return _page(bot_id, 422, key_error=str(e))
    return _page(bot_id, new_key=(row.name, key))


@bp.post("/bots/<bot_id>/settings/keys/<int:key_id>/revoke")
def settings_key_revoke(bot_id: str, key_id: int):
    get_bot_or_404(bot_id)
    revoked = function_keys.revoke_key(bot_id, str(key_id))
    flash(f"Key {revoked[0].name} revoked: it stops working at once." if revoked else "That key was already revoked.")
    return redirect(url_for("designer.settings", bot_id=bot_id) + "#keys")


@bp.post("/bots/<bot_id>/settings/smtp")
def settings_smtp(bot_id: str):
    """The SMTP server; an empty password field keeps the stored password while the host and port stay."""
    get_bot_or_404(bot_id)
    form = request.form
    had = outbox.shown(bot_id, "smtp").get("passwordSet")
    port = form.get("port", "").strip() or "587"
    try:
        if not port.isdigit():
            raise ValueError("The port must be a number from 1 to 65535, like 587.")
        outbox.set_smtp(bot_id, host=form.get("host", "").strip(), port=int(port),
                        security=form.get("security", "starttls"), username=form.get("username", "").strip() or None,
                        password=form.get("password") or None, sender=form.get("from", "").strip())
    except ValueError as e:
        return _page(bot_id, 422, smtp_error=str(e), smtp_form=form)
    cleared = had and not outbox.shown(bot_id, "smtp").get("passwordSet")
    flash("SMTP server saved. " + ("The password was cleared: it is kept only for the server it was entered for; "
                                   "enter it again." if cleared else "The password is not shown again."))
    return redirect(url_for("designer.settings", bot_id=bot_id) + "#outbox")


@bp.post("/bots/<bot_id>/settings/sms")
def settings_sms(bot_id: str):
    """The SMS provider; an empty token field keeps the stored token while the base URL stays."""
    get_bot_or_404(bot_id)
    form = request.form
    had = outbox.shown(bot_id, "sms").get("tokenSet")
    try:
        outbox.set_sms(bot_id, account=form.get("account", "").strip(), token=form.get("token") or None,
                       sender=form.get("from", "").strip(), base_url=form.get("baseUrl", "").strip() or outbox.TWILIO)
    except ValueError as e:
        return _page(bot_id, 422, sms_error=str(e), sms_form=form)
    cleared = had and not outbox.shown(bot_id, "sms").get("tokenSet")
    flash("SMS provider saved. " + ("The token was cleared: it is kept only for the base URL it was entered for; "
                                    "enter it again." if cleared else "The token is not shown again."))
    return redirect(url_for("designer.settings", bot_id=bot_id) + "#outbox")
