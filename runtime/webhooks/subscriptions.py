"""Subscriptions to a bot's conversation events: create, list, edit, re-verify, rotate the secret, delete.

A subscription sends only while `active`, which it becomes by passing the verification handshake: we POST
a signed `webhook.verification` message carrying a random challenge and the subscription's verification
token, and the receiver, having checked the token is the one it was given, echoes the challenge (the body
is the challenge itself, or JSON `{"challenge": ...}`) with a 2xx within 5 seconds. A subscription whose
handshake fails is kept `unverified`, with the reason, so the receiver can be fixed and `verify` run again;
re-verifying also reactivates a subscription switched off after failures. Secrets are shown once, when
made, and never again.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid4

from flask import current_app
from sqlalchemy import select

from runtime import integrations
from runtime.extensions import db
from runtime.integrations.errors import IntegrationError, Refused
from runtime.integrations.http import Response
from runtime.keys import fernet
from runtime.store.bots import get_bot
from runtime.store.models import utcnow
from runtime.webhooks import events, signing
from runtime.webhooks.models import (
    ACTIVE,
    FAILED,
    INACTIVE,
    PENDING,
    UNVERIFIED,
    WEBHOOK,
    WebhookDelivery,
    WebhookSubscription,
)
from runtime.webhooks.policy import TIMEOUT

PURPOSE = "webhook-secret"
EVENTS = ("message.received", "message.sent", "handover", "handover.accepted", "handover.closed", "event",
          "conversation.closed")
"""The event filter's words; `event:<name>` picks one custom event of the bot's `event` steps."""
_EVENT_NAME = re.compile(r"^event:[A-Za-z0-9_.:-]{1,100}$")
MAX_PER_BOT = 20


class SubscriptionError(ValueError):
    """Bad input for a subscription; the message says what to change."""


class SubscriptionNotFound(LookupError):
    def __init__(self, subscription_id: str):
        super().__init__(f"There is no webhook subscription '{subscription_id}' for this bot.")


@dataclass
class Created:
    subscription: dict
    secret: str  # these two are shown once
    verification_token: str


def create(bot_id: str, url: str, events: list[str], *, verification_token: str | None = None,
           secret: str | None = None, description: str | None = None) -> Created:
    """Save a subscription and run the handshake; a failed handshake leaves it `unverified`, with the reason."""
    get_bot(bot_id)
    count = db.session.scalar(select(db.func.count()).where(WebhookSubscription.bot_id == bot_id,
                                                            WebhookSubscription.kind == WEBHOOK))
    if count >= MAX_PER_BOT:
        raise SubscriptionError(f"A bot has at most {MAX_PER_BOT} webhook subscriptions; delete one first.")
    if secret is not None and not signing.valid_secret(secret):
        raise SubscriptionError("A secret is 'whsec_' followed by base64 of at least 16 bytes; leave it out "
                                "and one is made for you.")
    secret, token = secret or signing.new_secret(), _checked_token(verification_token)
    row = WebhookSubscription(id="sub_" + uuid4().hex, bot_id=bot_id, url=checked_url(url),
                              events=_checked_events(events), description=_short(description),
                              verification_token=_seal(token),
                              secret=_seal(secret), status=UNVERIFIED, consecutive_failures=0)
    db.session.add(row)
    db.session.commit()
    _handshake(row)
    return Created(describe(row), secret, token)


def edit(bot_id: str, subscription_id: str, *, url: str | None = None, events: list[str] | None = None,
         verification_token: str | None = None, description: str | None = None) -> dict:
    """Change a subscription; a new address or token must pass the handshake again before it sends."""
    row = _get(bot_id, subscription_id)
    if events is not None:
        row.events = _checked_events(events)
    if description is not None:
        row.description = _short(description)
    again = False
    if url is not None and url != row.url:
        row.url, again = checked_url(url), True
    if verification_token is not None:
        row.verification_token, again = _seal(_checked_token(verification_token)), True
    db.session.commit()
    _changed(bot_id)
    if again:
        _handshake(row)
    return describe(row)


def verify(bot_id: str, subscription_id: str) -> dict:
    """Run the handshake again: on success the subscription is active, its failure count cleared."""
    row = _get(bot_id, subscription_id)
    _handshake(row)
    return describe(row)


def rotate_secret(bot_id: str, subscription_id: str, *, keep_old_hours: float = 24) -> str:
    """A new secret, returned once; the old one still signs (a second signature) for `keep_old_hours`."""
    if not 0 <= keep_old_hours <= 24 * 7:
        raise SubscriptionError("Keep the old secret for 0 to 168 hours.")
    row = _get(bot_id, subscription_id)
    secret = signing.new_secret()
    row.previous_secret, row.previous_secret_until = row.secret, utcnow() + timedelta(hours=keep_old_hours)
    row.secret = _seal(secret)
    db.session.commit()
    return secret


def delete(bot_id: str, subscription_id: str) -> None:
    db.session.delete(_get(bot_id, subscription_id))
    db.session.commit()
    _changed(bot_id)


def list_for(bot_id: str) -> list[dict]:
    rows = db.session.scalars(select(WebhookSubscription).where(WebhookSubscription.bot_id == bot_id,
                                                                WebhookSubscription.kind == WEBHOOK)
                              .order_by(WebhookSubscription.created_at))
    return [describe(row) for row in rows]


def get(bot_id: str, subscription_id: str) -> dict:
    return describe(_get(bot_id, subscription_id))


def describe(row: WebhookSubscription) -> dict:
    """What the designer and the API show: never a secret or the token."""
    return {"id": row.id, "bot": row.bot_id, "url": row.url, "events": row.events, "description": row.description,
            "status": row.status, "statusReason": row.status_reason,
            "consecutiveFailures": row.consecutive_failures,
            "verifiedAt": row.verified_at.isoformat() if row.verified_at else None,
            "secretRotating": bool(row.previous_secret and row.previous_secret_until
                                   and row.previous_secret_until > utcnow())}


def signing_secrets(row: WebhookSubscription) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one while it is kept."""
    found = [_unseal(row.secret)]
    if row.previous_secret and row.previous_secret_until and row.previous_secret_until > utcnow():
        found.append(_unseal(row.previous_secret))
    return found


def deactivate(row: WebhookSubscription, reason: str) -> None:
    """Stop sending (the caller commits): what was still owed fails, visibly, and may be redelivered; a target
    that holds what it is owed (a platform connection: a user's replies) keeps it for when it is on again."""
    from runtime.webhooks.delivery import TARGETS  # a cycle otherwise: delivery deactivates

    row.status, row.status_reason = INACTIVE, reason
    if not TARGETS[row.kind].holds:
        fail_pending(row, f"the subscription was switched off ({reason})")
    _changed(row.bot_id)


def fail_pending(row: WebhookSubscription, reason: str) -> None:
    """Mark what is still owed to a subscription that does not send as failed (the caller commits)."""
    pending = db.session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.subscription_id == row.id, WebhookDelivery.status == PENDING))
    for delivery in pending:
        delivery.status, delivery.finished_at = FAILED, utcnow()
        delivery.last_error = f"Not sent: {reason}"


def _handshake(row: WebhookSubscription) -> None:
    challenge = secrets.token_urlsafe(24)
    body = json.dumps({"type": "webhook.verification", "timestamp": utcnow().isoformat(),
                       "data": {"challenge": challenge, "verificationToken": _unseal(row.verification_token),
                                "subscription": row.id}})
    message_id = "msg_" + uuid4().hex
    headers = {"content-type": "application/json",
               **signing.headers(signing_secrets(row), message_id, int(utcnow().timestamp()), body)}
    try:
        answer = integrations.session().request("POST", row.url, data=body.encode(), headers=headers,
                                                timeout=TIMEOUT, follow_redirects=False, max_bytes=64 * 1024)
        reason = _handshake_failure(answer, challenge)
    except IntegrationError as e:  # refused by the guard, unreachable, too slow, too big
        reason = str(e)
    if reason is None:
        activate(row)
        return
    row.status, row.status_reason = UNVERIFIED, f"The verification handshake failed: {reason}"
    db.session.commit()
    _changed(row.bot_id)


def activate(row: WebhookSubscription) -> None:
    """Send again: the target is active, its failure count cleared, and what it is owed goes out."""
    row.status, row.status_reason, row.consecutive_failures, row.verified_at = ACTIVE, None, 0, utcnow()
    db.session.commit()
    _changed(row.bot_id)
    from runtime.webhooks.delivery import wake_subscription  # a cycle otherwise: delivery deactivates
    wake_subscription(row.id)


def _handshake_failure(answer: Response, challenge: str) -> str | None:
    if 300 <= answer.status < 400:
        return (f"the receiver answered {answer.status}, a redirect (to {answer.headers.get('Location', '?')!r}); "
                "redirects are not followed, so give the final address.")
    if not 200 <= answer.status < 300:
        return f"the receiver answered {answer.status}, not 2xx."
    text = answer.text.strip()
    try:
        echoed = json.loads(text).get("challenge") if text.startswith("{") else text
    except ValueError:
        echoed = None
    if echoed != challenge:
        return "the receiver answered 2xx but did not echo the challenge (answer with the challenge itself, " \
               "or JSON {\"challenge\": ...})."
    return None


def _changed(bot_id: str) -> None:
    events.forget(current_app._get_current_object(), bot_id)


def _get(bot_id: str, subscription_id: str) -> WebhookSubscription:
    row = db.session.get(WebhookSubscription, subscription_id, populate_existing=True)
    if row is None or row.bot_id != bot_id or row.kind != WEBHOOK:
        raise SubscriptionNotFound(subscription_id)
    return row


def checked_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 2000:
        raise SubscriptionError("The address is longer than 2,000 characters.")
    try:
        integrations.session().guard.check_url(url)
    except Refused as e:
        raise SubscriptionError(str(e)) from None
    return url


def _checked_events(events: list[str]) -> list[str]:
    if not isinstance(events, list) or not events:
        raise SubscriptionError(f"Pick at least one event: {', '.join(EVENTS)}, or event:<name>.")
    for name in events:
        if not isinstance(name, str) or (name not in EVENTS and not _EVENT_NAME.match(name)):
            raise SubscriptionError(f"Unknown event {str(name)[:100]!r}: use {', '.join(EVENTS)}, or event:<name> "
                                    "for one custom event.")
    return sorted(set(events))


def _checked_token(token: str | None) -> str:
    if token is None:
        return secrets.token_urlsafe(24)
    if not 8 <= len(token) <= 200:
        raise SubscriptionError("A verification token has 8 to 200 characters.")
    return token


def _short(text: str | None) -> str | None:
    return text[:200] if text else None


def _seal(value: str) -> str:
    return fernet(PURPOSE).encrypt(value.encode()).decode()


def _unseal(sealed: str) -> str:
    return fernet(PURPOSE).decrypt(sealed.encode()).decode()
