"""The webhooks' management API: subscriptions (create, list, edit, verify, rotate the secret, delete), the
delivery log, redelivery. Views only: `register(bp)` adds them to the management blueprint, whose guard
checks the function key (`/b/<bot>/api/management/webhooks...`)."""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.exceptions import BadRequest, NotFound, UnprocessableEntity

from runtime.management.body import json_object
from runtime.webhooks import delivery, subscriptions


def register(bp: Blueprint) -> None:
    for rule, view, methods in (
            ("/webhooks", list_subscriptions, ["GET"]), ("/webhooks", create, ["POST"]),
            ("/webhooks/<subscription>", show, ["GET"]), ("/webhooks/<subscription>", edit, ["PATCH"]),
            ("/webhooks/<subscription>", remove, ["DELETE"]), ("/webhooks/<subscription>/verify", verify, ["POST"]),
            ("/webhooks/<subscription>/rotate-secret", rotate, ["POST"]),
            ("/webhooks/<subscription>/deliveries", deliveries, ["GET"]),
            ("/webhooks/<subscription>/deliveries/<bigint:delivery_id>/redeliver", redeliver, ["POST"])):
        bp.add_url_rule(rule, view_func=view, endpoint=f"webhooks_{view.__name__}", methods=methods)


def list_subscriptions(bot: str):
    return _checked(lambda: {"subscriptions": subscriptions.list_for(bot)})


def create(bot: str):
    """Body: `{"url", "events": [...], "verificationToken"?, "secret"?, "description"?}`. The answer holds the
    secret and the token, shown this once."""
    body = _texts(json_object(), "url", "verificationToken", "secret", "description")
    made = _checked(lambda: subscriptions.create(bot, body.get("url") or "", body.get("events"),
                                                 verification_token=body.get("verificationToken"),
                                                 secret=body.get("secret"), description=body.get("description")))
    return {**made.subscription, "secret": made.secret, "verificationToken": made.verification_token}, 201


def show(bot: str, subscription: str):
    return _checked(lambda: {**subscriptions.get(bot, subscription), "deliveries": delivery.counts(subscription)})


def edit(bot: str, subscription: str):
    _checked(lambda: subscriptions.get(bot, subscription))  # a 404 for a wrong id before the body is read
    body = _texts(json_object(), "url", "verificationToken", "description")
    return _checked(lambda: subscriptions.edit(bot, subscription, url=body.get("url"), events=body.get("events"),
                                               verification_token=body.get("verificationToken"),
                                               description=body.get("description")))


def remove(bot: str, subscription: str):
    _checked(lambda: subscriptions.delete(bot, subscription))
    return "", 204


def verify(bot: str, subscription: str):
    return _checked(lambda: subscriptions.verify(bot, subscription))


def rotate(bot: str, subscription: str):
    hours = (json_object() if request.get_data(cache=True) else {}).get("keepOldHours", 24)
    if not isinstance(hours, int | float) or isinstance(hours, bool):
        raise BadRequest("keepOldHours is a number of hours.")
    return _checked(lambda: {"secret": subscriptions.rotate_secret(bot, subscription, keep_old_hours=hours)})


def deliveries(bot: str, subscription: str):
    status = request.args.get("status")
    if status not in (None, "pending", "delivered", "failed"):
        raise BadRequest("status is pending, delivered or failed.")
    limit = request.args.get("limit", "50")
    if not limit.isdigit():
        raise BadRequest("limit is a whole number.")
    return _checked(lambda: {"deliveries": delivery.log_of(bot, subscription, status=status, limit=int(limit))})


def redeliver(bot: str, subscription: str, delivery_id: int):
    return _checked(lambda: delivery.redeliver(bot, delivery_id))


def _texts(body: dict, *names: str) -> dict:
    """The body, once each of `names` it holds is a string (or null: left out)."""
    for name in names:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise BadRequest(f"{name} is a string.")
    return body


def _checked(work):
    try:
        return work()
    except subscriptions.SubscriptionError as e:
        raise UnprocessableEntity(str(e)) from None
    except LookupError as e:  # no such bot, subscription or delivery
        raise NotFound(e.args[0] if e.args else str(e)) from None
