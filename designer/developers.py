"""A bot's Developers page: what only the people who connect it to other systems need, kept off the pages a
bot's author works in: the document as JSON, management API keys, the Direct Line secret, the integrations'
secrets (write-only) and the outbox (the SMTP server and SMS provider of the `email` and `sms` steps; their
password and token are write-only). It links to the API docs and, for admins, the job queue."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from designer import bp
from designer.bots import get_bot_or_404
from runtime.channels.directline import secret as directline_secret
from runtime.management import keys as function_keys
from runtime.management import settings as outbox
from runtime.store import secrets


def _page(bot_id: str, status: int = 200, **extra):
    bot = get_bot_or_404(bot_id)
    return render_template("designer/developers.html", bot=bot, secrets=secrets.listed(bot_id),
                           keys=function_keys.list_keys(bot_id), smtp=outbox.shown(bot_id, "smtp"),
                           sms=outbox.shown(bot_id, "sms"), **extra), status


def _back(bot_id: str, anchor: str):
    return redirect(url_for("designer.developers", bot_id=bot_id, _anchor=anchor))


@bp.get("/bots/<bot_id>/developers")
def developers(bot_id: str):
    return _page(bot_id)


@bp.post("/bots/<bot_id>/developers/secrets")
def developers_secret(bot_id: str):
    get_bot_or_404(bot_id)
    try:
        secrets.set_secret(bot_id, request.form.get("name", "").strip(), request.form.get("value", ""),
                           bound_to=request.form.get("address", "").strip())
    except ValueError as e:
        return _page(bot_id, 422, secret_error=str(e))
    flash(f"Secret {request.form['name'].strip()} saved. It is not shown again.")
    return _back(bot_id, "secrets")


@bp.post("/bots/<bot_id>/developers/secrets/<name>/delete")
def developers_secret_delete(bot_id: str, name: str):
    get_bot_or_404(bot_id)
    if not secrets.delete_secret(bot_id, name):
        abort(404, f"Bot '{bot_id}' has no secret '{name}'; it may have been deleted already.")
    flash(f"Secret {name} deleted.")
    return _back(bot_id, "secrets")


@bp.post("/bots/<bot_id>/developers/directline")
def developers_directline(bot_id: str):
    get_bot_or_404(bot_id)
    value, _ = directline_secret.reveal(bot_id, regenerate=True)
    return _page(bot_id, new_secret=value)


@bp.post("/bots/<bot_id>/developers/keys")
def developers_key(bot_id: str):
    """A management API function key, shown on this page once."""
    get_bot_or_404(bot_id)
    try:
        row, key = function_keys.create_key(bot_id, request.form.get("name", ""))
    except ValueError as e:  # KeyNameTaken is one
        return _page(bot_id, 422, key_error=str(e))
    return _page(bot_id, new_key=(row.name, key))


@bp.post("/bots/<bot_id>/developers/keys/<int:key_id>/revoke")
def developers_key_revoke(bot_id: str, key_id: int):
    get_bot_or_404(bot_id)
    revoked = function_keys.revoke_key(bot_id, str(key_id))
    if not revoked and all(key.id != key_id for key in function_keys.list_keys(bot_id)):
        abort(404, f"Bot '{bot_id}' has no key {key_id}.")
    flash(f"Key {revoked[0].name} revoked: it stops working at once." if revoked else "That key was already revoked.")
    return _back(bot_id, "keys")


@bp.post("/bots/<bot_id>/developers/smtp")
def developers_smtp(bot_id: str):
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
    return _back(bot_id, "outbox")


@bp.post("/bots/<bot_id>/developers/sms")
def developers_sms(bot_id: str):
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
    return _back(bot_id, "outbox")
