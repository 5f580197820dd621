"""A bot's Webhooks page: its subscriptions (state and why, last failures), create with the verification
handshake, edit and re-verify, rotate the secret (shown once, on the answer to that request only), delete,
and each subscription's delivery log, which an admin may redeliver. The work is `runtime.webhooks`'."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from designer import bp
from designer.bots import get_bot_or_404
from runtime.webhooks import delivery, subscriptions

LOG_SIZE = 20


def _events_asked() -> list[str]:
    """The ticked event words, and custom `event:<name>` entries typed one per comma."""
    custom = [f"event:{name.strip()}" for name in request.form.get("custom", "").split(",") if name.strip()]
    return request.form.getlist("events") + custom


def _page(bot_id: str, status: int = 200, **shown):
    bot = get_bot_or_404(bot_id)
    found = [{**sub, "counts": delivery.counts(sub["id"]), "log": delivery.log_of(bot_id, sub["id"], limit=LOG_SIZE)}
             for sub in subscriptions.list_for(bot_id)]
    return render_template("designer/webhooks.html", bot=bot, subscriptions=found, events=subscriptions.EVENTS,
                           form=shown.pop("form", None) or MultiDict(), **shown), status


@bp.get("/bots/<bot_id>/webhooks")
def webhooks(bot_id: str):
    return _page(bot_id)


@bp.post("/bots/<bot_id>/webhooks")
def webhook_create(bot_id: str):
    get_bot_or_404(bot_id)
    try:
        made = subscriptions.create(bot_id, request.form.get("url", ""), _events_asked(),
                                    verification_token=request.form.get("token") or None,
                                    description=request.form.get("description") or None)
    except subscriptions.SubscriptionError as e:
        return _page(bot_id, 422, error=str(e), form=request.form)
    # The secret and token go into this answer only: never a flash (the session cookie) nor a later page.
    return _page(bot_id, 201, created=made)


@bp.post("/bots/<bot_id>/webhooks/<subscription_id>/<action>")
def webhook_action(bot_id: str, subscription_id: str, action: str):
    get_bot_or_404(bot_id)
    try:
        if action == "edit":
            sub = subscriptions.edit(bot_id, subscription_id, url=request.form.get("url"), events=_events_asked(),
                                     description=request.form.get("description"))
            if sub["status"] != "active":
                sub = subscriptions.verify(bot_id, subscription_id)
            flash(f"Saved. {_outcome(sub)}")
        elif action == "verify":
            flash(_outcome(subscriptions.verify(bot_id, subscription_id)))
        elif action == "rotate":
            secret = subscriptions.rotate_secret(bot_id, subscription_id)
            return _page(bot_id, rotated={"id": subscription_id, "secret": secret})
        elif action == "delete":
            subscriptions.delete(bot_id, subscription_id)
            flash("Deleted the subscription.")
        else:
            abort(404, f"There is no webhook action '{action[:40]}'.")
    except subscriptions.SubscriptionNotFound as e:
        abort(404, str(e))
    except subscriptions.SubscriptionError as e:
        return _page(bot_id, 422, error=str(e))
    return redirect(url_for("designer.webhooks", bot_id=bot_id))


@bp.post("/bots/<bot_id>/webhooks/deliveries/<bigint:delivery_id>/redeliver")
def webhook_redeliver(bot_id: str, delivery_id: int):
    get_bot_or_404(bot_id)
    if not current_user.is_admin:
        abort(403)
    try:
        delivery.redeliver(bot_id, delivery_id)
    except subscriptions.SubscriptionError as e:
        return _page(bot_id, 422, error=str(e))
    except LookupError as e:
        abort(404, str(e))
    flash("Queued the delivery again.")
    return redirect(url_for("designer.webhooks", bot_id=bot_id))


def _outcome(sub: dict) -> str:
    if sub["status"] == "active":
        return "The subscription is active."
    return sub["statusReason"] or f"The subscription is {sub['status']}."
