"""Sending what is owed: the job that posts a conversation's pending deliveries to one subscription, in order.

`send(subscription, conversation)` holds a Redis lock for the pair, so one sender at a time keeps the
conversation's events in order: it posts the oldest pending delivery, and goes on to the next only when
that one is delivered or has failed for good; a delivery waiting for its retry holds back those after it.
A failed attempt schedules the job again at the retry time (`policy`). What an attempt carries besides the
body depends on the target's kind (`TARGETS`): Standard Webhooks signatures for a subscription, the
platform's own credentials for a messaging platform connection, which reuses all the rest.
At least once: a delivery row stays pending until an answer decided it, so a worker killed mid-post leaves it
pending; RQ retries the abandoned job, and `sweep` (every minute, from the worker) wakes any pair whose
pending delivery is overdue, so even a Redis that lost its jobs delays deliveries rather than losing them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from redis.exceptions import LockError, RedisError
from rq import Retry
from sqlalchemy import func, insert, select

from runtime import integrations
from runtime.extensions import db
from runtime.integrations.errors import IntegrationError
from runtime.integrations.http import Response
from runtime.jobs import connection, enqueue, in_app
from runtime.store.models import utcnow
from runtime.turns import outbox
from runtime.webhooks import policy, signing, subscriptions
from runtime.webhooks.models import (
    ACTIVE,
    DELIVERED,
    FAILED,
    PENDING,
    WEBHOOK,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

log = logging.getLogger(__name__)
QUEUE = "webhooks"
LOCK_SECONDS = 15  # longer than one attempt (5 s); refreshed before each
OVERDUE = timedelta(minutes=2)  # a pending delivery this late has lost its job: the sweeper wakes it
JOB_RETRY = Retry(max=3, interval=[10, 60, 300])  # the job itself (a worker killed, the database away)


@dataclass(frozen=True)
class Target:
    """How one kind of target is sent to: the headers of an attempt (beside the content type), and what to
    do once a delivery was accepted (the target's own bookkeeping)."""

    headers: Callable[[WebhookSubscription, WebhookDelivery, datetime], dict[str, str]]
    delivered: Callable[[WebhookDelivery, bytes], None] | None = None  # with the receiver's answer
    holds: bool = False  # while switched off, keep what is owed for when it is on again (else: failed)
    url: Callable[[WebhookSubscription, WebhookDelivery], str] | None = None  # None: the target's own address


def _signed(subscription: WebhookSubscription, delivery: WebhookDelivery, moment: datetime) -> dict[str, str]:
    return signing.headers(subscriptions.signing_secrets(subscription), delivery.message_id,
                           int(moment.timestamp()), delivery.body)


TARGETS: dict[str, Target] = {WEBHOOK: Target(_signed)}
"""The kinds of target by name; other packages add theirs (`runtime.channels.platforms`)."""


def owe(conversation_id: str, owed: list[tuple[str, int, str, str]]) -> None:
    """Save what a committed turn owes its targets, `(target id, transcript seq, event, JSON body)` each, in the
    transaction of the after-commit handler that calls it (once per effect: `runtime.turns.outbox`), then wake
    their senders once that is committed. Saved first: with Redis away the sweeper sends them once it is back."""
    if not owed:
        return
    now = utcnow()
    db.session.execute(insert(WebhookDelivery), [
        {"message_id": "msg_" + uuid4().hex, "subscription_id": target, "conversation_id": conversation_id,
         "seq": seq, "event": event, "status": PENDING, "tries": 0, "next_attempt_at": now, "created_at": now,
         "body": body} for target, seq, event, body in owed])

    def wake_senders() -> None:
        try:
            for target in dict.fromkeys(target for target, *_ in owed):
                wake(target, conversation_id)
        except RedisError as e:
            log.warning("conversation %s: deliveries saved but not queued (%s)", conversation_id, e)

    outbox.later(wake_senders)


def wake(subscription_id: str, conversation_id: str, *, delay: float | None = None,
         retry_of: int | None = None) -> None:
    """Queue the sender of one subscription and conversation (now, or after `delay` seconds: the retry of
    delivery `retry_of`, which is due when the scheduler says so)."""
    enqueue("runtime.webhooks.delivery.send", subscription_id, conversation_id, retry_of, queue_name=QUEUE,
            delay=delay, retry=JOB_RETRY)


def wake_subscription(subscription_id: str) -> None:
    """Queue the senders of every conversation with deliveries pending for the subscription."""
    for (conversation_id,) in db.session.execute(
            select(WebhookDelivery.conversation_id).distinct()
            .where(WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.status == PENDING)):
        wake(subscription_id, conversation_id)


@in_app
def send(subscription_id: str, conversation_id: str, retry_of: int | None = None) -> int:
    """Post the pair's due deliveries in order; how many attempts were made.

    `retry_of` names the delivery whose retry this job was scheduled for: RQ's scheduler has decided its
    time came (a test's scheduler clock as well as the wall clock), so it is sent even a moment early."""
    lock = connection().lock(f"arbor:webhook-sender:{subscription_id}:{conversation_id}", timeout=LOCK_SECONDS)
    made = 0
    while True:
        if not lock.acquire(blocking=False):
            # Someone else sends for this pair and looks again after letting go; if that someone was a worker
            # killed mid-post, its lock runs out: look again then.
            wake(subscription_id, conversation_id, delay=LOCK_SECONDS + 1)
            return made
        try:
            made += _send_due(subscription_id, conversation_id, lock, retry_of)
            retry_of = None
        finally:
            try:
                lock.release()
            except LockError:
                log.warning("webhook sender lock of %s/%s ran out while sending", subscription_id, conversation_id)
        subscription = db.session.get(WebhookSubscription, subscription_id, populate_existing=True)
        if subscription is None or subscription.status != ACTIVE or \
                _head(subscription_id, conversation_id, due_only=True) is None:
            return made  # nothing slipped in while the lock was held (or nothing may go now: held)


@in_app
def sweep() -> int:
    """Wake the senders of pending deliveries that are overdue (their job was lost); how many pairs."""
    pairs = db.session.execute(
        select(WebhookDelivery.subscription_id, WebhookDelivery.conversation_id).distinct()
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at < utcnow() - OVERDUE,
               WebhookSubscription.status == ACTIVE)).all()
    for subscription_id, conversation_id in pairs:
        wake(subscription_id, conversation_id)
    return len(pairs)


def redeliver(bot_id: str, delivery_id: int) -> dict:
    """Send a delivery again (same `webhook-id`, a fresh set of retries), in its place in the conversation."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    subscription = delivery and db.session.get(WebhookSubscription, delivery.subscription_id)
    if subscription is None or subscription.bot_id != bot_id:
        raise LookupError(f"There is no webhook delivery {delivery_id} for this bot.")
    if subscription.status != ACTIVE:
        raise subscriptions.SubscriptionError("The subscription is not active: verify it first, then redeliver.")
    delivery.status, delivery.tries, delivery.next_attempt_at, delivery.finished_at = PENDING, 0, utcnow(), None
    db.session.commit()
    wake(subscription.id, delivery.conversation_id)
    return describe(delivery)


def log_of(bot_id: str, subscription_id: str, *, status: str | None = None, limit: int = 50) -> list[dict]:
    """The delivery log of a subscription, newest first, each delivery with its attempts."""
    subscriptions.get(bot_id, subscription_id)  # 404 for another bot's subscription
    return deliveries_of(subscription_id, status=status, limit=limit)


def deliveries_of(target_id: str, *, status: str | None = None, limit: int = 50) -> list[dict]:
    """The deliveries to a target, newest first, each with its attempts (the caller checked the bot)."""
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == target_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    deliveries = db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(min(limit, 500))).all()
    attempts: dict[int, list] = {}
    for attempt in db.session.scalars(select(WebhookAttempt).where(
            WebhookAttempt.delivery_id.in_([d.id for d in deliveries])).order_by(WebhookAttempt.id)):
        attempts.setdefault(attempt.delivery_id, []).append(
            {"at": attempt.at.isoformat(), "status": attempt.status_code, "error": attempt.error,
             "durationMs": attempt.duration_ms})
    return [{**describe(d), "attempts": attempts.get(d.id, [])} for d in deliveries]


def counts(subscription_id: str) -> dict[str, int]:
    """Deliveries by status, for the designer's overview."""
    rows = db.session.execute(select(WebhookDelivery.status, func.count()).where(
        WebhookDelivery.subscription_id == subscription_id).group_by(WebhookDelivery.status))
    return {status: n for status, n in rows}


def describe(delivery: WebhookDelivery) -> dict:
    return {"id": delivery.id, "webhookId": delivery.message_id, "conversationId": delivery.conversation_id,
            "event": delivery.event, "status": delivery.status, "tries": delivery.tries,
            "nextAttemptAt": delivery.next_attempt_at.isoformat() if delivery.status == PENDING else None,
            "lastStatus": delivery.last_status, "lastError": delivery.last_error,
            "createdAt": delivery.created_at.isoformat()}


def _head(subscription_id: str, conversation_id: str, *, due_only: bool = False) -> WebhookDelivery | None:
    query = (select(WebhookDelivery)
             .where(WebhookDelivery.subscription_id == subscription_id,
                    WebhookDelivery.conversation_id == conversation_id, WebhookDelivery.status == PENDING)
             .order_by(WebhookDelivery.seq, WebhookDelivery.id).limit(1))
    head = db.session.scalars(query.execution_options(populate_existing=True)).first()
    db.session.commit()  # end the read: the next look must see what others committed since
    if head is not None and due_only and head.next_attempt_at > utcnow():
        return None
    return head


def _send_due(subscription_id: str, conversation_id: str, lock, retry_of: int | None) -> int:
    made = 0
    while True:
        subscription = db.session.get(WebhookSubscription, subscription_id, populate_existing=True)
        if subscription is None:
            return made
        if subscription.status != ACTIVE:  # switched off after these were saved (or while they waited)
            if not TARGETS[subscription.kind].holds:
                subscriptions.fail_pending(subscription, f"the subscription is {subscription.status}")
                db.session.commit()
            return made
        head = _head(subscription_id, conversation_id)
        if head is None:
            return made
        if head.next_attempt_at > utcnow() and head.id != retry_of:
            return made  # its retry is scheduled; those after it wait their turn
        lock.reacquire()
        made += 1
        if not _attempt(subscription, head):
            return made


def _attempt(subscription: WebhookSubscription, delivery: WebhookDelivery) -> bool:
    """One POST of the delivery; True when the conversation's next delivery may go now."""
    moment = utcnow()
    target = TARGETS[subscription.kind]
    started = time.monotonic()
    try:  # a target's own address and credentials may take a call to obtain (a token): failing, the attempt failed
        url = target.url(subscription, delivery) if target.url else subscription.url
        headers = {"content-type": "application/json", "user-agent": "Arbor-Webhooks/1",
                   **target.headers(subscription, delivery, moment)}
        answer = integrations.session().request("POST", url, data=delivery.body.encode(),
                                                headers=headers, timeout=policy.TIMEOUT, follow_redirects=False,
                                                max_bytes=64 * 1024)
        status, retry_after, error = answer.status, answer.headers.get("Retry-After"), _answer_error(answer)
        content = answer.content
    except IntegrationError as e:  # refused by the guard, unreachable, too slow, too big
        status, retry_after, error, content = None, None, str(e), b""
    delivery.tries += 1
    verdict = policy.judge(status, delivery.tries, retry_after)
    db.session.add(WebhookAttempt(delivery_id=delivery.id, at=moment, status_code=status,
                                  error=None if verdict.done else error,
                                  duration_ms=int((time.monotonic() - started) * 1000)))
    delivery.last_status, delivery.last_error = status, None if verdict.done else error
    if verdict.done:
        delivery.status, delivery.finished_at = DELIVERED, utcnow()
        subscription.consecutive_failures = 0
    elif verdict.retry_in is not None:
        delivery.next_attempt_at = utcnow() + timedelta(seconds=verdict.retry_in)
    else:
        delivery.status, delivery.finished_at = FAILED, utcnow()
        subscription.consecutive_failures = WebhookSubscription.consecutive_failures + 1  # in SQL: senders race
        db.session.flush()
        db.session.refresh(subscription, ["consecutive_failures"])
        if verdict.gone:
            subscriptions.deactivate(subscription, "the receiver answered 410 Gone")
        elif subscription.consecutive_failures >= policy.CONSECUTIVE_FAILURES_LIMIT:
            subscriptions.deactivate(subscription, f"{subscription.consecutive_failures} deliveries in a row failed")
    db.session.commit()
    if verdict.done and target.delivered is not None:
        target.delivered(delivery, content)
    if verdict.retry_in is not None:
        log.info("webhook %s to %s: %s; retry in %.0f s", delivery.message_id, subscription.id, error,
                 verdict.retry_in)
        wake(subscription.id, delivery.conversation_id, delay=verdict.retry_in, retry_of=delivery.id)
        return False
    if not verdict.done:
        log.warning("webhook %s to %s failed for good: %s", delivery.message_id, subscription.id, error)
    return subscription.status == ACTIVE


def _answer_error(answer: Response) -> str | None:
    if 200 <= answer.status < 300:
        return None
    if 300 <= answer.status < 400:
        return (f"The receiver answered {answer.status}, a redirect to {answer.headers.get('Location', '?')!r}; "
                "redirects are not followed.")
    return f"The receiver answered {answer.status}: {answer.content[:200].decode('utf-8', 'replace')}"
