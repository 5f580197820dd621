"""Carry out the effects of `clear-data`, `email` and `sms` steps once their turn is committed.

Subscribed to the store's `effects_ready`: a snapshot is written at once (the turn already cleared the
data); an e-mail or SMS is logged in its outbox table and sent by a background job with retries
(`outbox`). Writing the rows right after the commit, not inside the turn's transaction, keeps the
store's hot path free of them; the price is that a process killed between the two loses that snapshot
or message, which the log of the turn (and a resent message) would not mend.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

from runtime.extensions import db
from runtime.jobs import enqueue
from runtime.management.models import OutgoingEmail, OutgoingSms, UserDataSnapshot
from runtime.management.outbox import RETRY
from runtime.management.settings import SettingsMissing, settings, shown
from runtime.store.conversations import effects_ready
from runtime.store.models import Conversation

log = logging.getLogger(__name__)
LINK = re.compile(r"https?://\S+")


@effects_ready.connect
def carry_out(app: Flask, conversation_id: str, effects: list[dict]) -> None:
    mine = [effect for effect in effects if effect.get("type") in HANDLERS]
    if not mine:
        return
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None:
        return
    jobs = [HANDLERS[effect["type"]](conversation, effect) for effect in mine]
    db.session.commit()
    for job in jobs:
        if job is not None:
            job()


def _snapshot(conversation: Conversation, effect: dict) -> None:
    db.session.add(UserDataSnapshot(bot_id=conversation.bot_id, user_id=conversation.user_id,
                                    step_id=effect.get("step"), data=effect.get("data") or {}))


def _email(conversation: Conversation, effect: dict):
    sender = shown(conversation.bot_id, "smtp").get("from")
    row = OutgoingEmail(bot_id=conversation.bot_id, user_id=conversation.user_id, step_id=effect.get("step"),
                        sender=sender, recipients=effect["to"], reply_to=effect.get("replyTo"),
                        subject=effect.get("subject") or "", body=effect.get("body") or "", attempts=0)
    return _queued(row, "runtime.management.outbox.send_email", "smtp")


def _sms(conversation: Conversation, effect: dict):
    text = effect.get("text") or ""
    link = LINK.search(text)
    provider = shown(conversation.bot_id, "sms").get("provider") or "twilio"
    row = OutgoingSms(bot_id=conversation.bot_id, user_id=conversation.user_id, step_id=effect.get("step"),
                      channel=conversation.channel, provider=provider, recipients=effect["to"], message=text,
                      link=link.group(0) if link else None, attempts=0)
    return _queued(row, "runtime.management.outbox.send_sms", "sms")


def _queued(row: OutgoingEmail | OutgoingSms, job: str, kind: str):
    """Log the row; a bot with no server or provider set up gets a failed row and an error in the log."""
    try:
        settings(row.bot_id, kind)
    except (SettingsMissing, ValueError) as e:
        row.status, row.error = "failed", str(e)
        log.error("bot %s, step %s: %s", row.bot_id, row.step_id, e)
        db.session.add(row)
        return None
    row.status = "queued"
    db.session.add(row)

    return lambda: enqueue(job, row.id, retry=RETRY)


HANDLERS = {"user-data.snapshot": _snapshot, "email.send": _email, "sms.send": _sms}
