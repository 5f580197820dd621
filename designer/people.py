"""The People card of a bot's settings: an admin gives editors and agents access to the bot or takes it away.

Which bots an editor may open at all is checked once, in `accounts.guard`, for every page of a bot.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from designer import bp
from designer.accounts import admin_required
from designer.bots import get_bot_or_404
from designer.settings import _page
from runtime.extensions import db
from runtime.store import bot_access
from runtime.store.accounts import AccountError, User


@bp.post("/bots/<bot_id>/people")
@admin_required
def people_add(bot_id: str):
    bot = get_bot_or_404(bot_id)
    try:
        user = bot_access.grant(bot_id, request.form.get("email", ""))
    except AccountError as e:
        return _page(bot_id, 400, people_error=str(e), people_email=request.form.get("email", ""))
    current_app.logger.info("%s given access to bot %s by %s", user.email, bot_id, current_user.email)
    flash(f"{user.email} can now open {bot.name}.")
    return redirect(url_for("designer.settings", bot_id=bot_id, _anchor="people"))


@bp.post("/bots/<bot_id>/people/<int:user_id>/remove")
@admin_required
def people_remove(bot_id: str, user_id: int):
    bot = get_bot_or_404(bot_id)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, f"There is no user {user_id}.")
    bot_access.revoke(bot_id, user_id)
    current_app.logger.info("access to bot %s taken from user %s by %s", bot_id, user_id, current_user.email)
    flash(f"{user.email} can no longer open {bot.name}.")
    return redirect(url_for("designer.settings", bot_id=bot_id, _anchor="people"))
