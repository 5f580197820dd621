"""The after-commit handlers of `email` and `sms` steps: each message is logged in its outbox table and sent by a
background job with retries (`outbox`).

The row is written with the effect's outbox row of the turn (`runtime.turns.outbox`), so it is written once
whoever carries the effect out, and its job is queued before that commit, so no process dies between the two
(the job retries a row it cannot see yet). A bot with no server or provider set up gets a failed row and an
error in the log, and no job.
"""

from __future__ import annotations

import logging
import re

from runtime.extensions import db
from runtime.management.models import OutgoingEmail, OutgoingSms
from runtime.management.settings import SettingsMissing, settings, shown
from runtime.messaging.outbox import queue_send
from runtime.turns.effects import Committed

log = logging.getLogger(__name__)
LINK = re.compile(r"https?://\S+")


def email(committed: Committed, effect: dict) -> None:
    conversation = committed.conversation
    sender = shown(conversation.bot_id, "smtp").get("from")
    _logged(OutgoingEmail(bot_id=conversation.bot_id, user_id=conversation.user_id, step_id=effect.get("step"),
                          sender=sender, recipients=effect["to"], reply_to=effect.get("replyTo"),
                          subject=effect.get("subject") or "", body=effect.get("body") or "", attempts=0),
            "smtp")


def sms(committed: Committed, effect: dict) -> None:
    conversation = committed.conversation
    text = effect.get("text") or ""
    link = LINK.search(text)
    provider = shown(conversation.bot_id, "sms").get("provider") or "twilio"
    _logged(OutgoingSms(bot_id=conversation.bot_id, user_id=conversation.user_id, step_id=effect.get("step"),
                        channel=conversation.channel, provider=provider, recipients=effect["to"], message=text,
                        link=link.group(0) if link else None, attempts=0),
            "sms")


def _logged(row: OutgoingEmail | OutgoingSms, kind: str) -> None:
    """Log the row and queue its job (or fail the row when the bot has no `kind` settings)."""
    try:
        settings(row.bot_id, kind)
    except (SettingsMissing, ValueError) as e:
        row.status, row.error = "failed", str(e)
        log.error("bot %s, step %s: %s", row.bot_id, row.step_id, e)
        db.session.add(row)
        return
    row.status = "queued"
    db.session.add(row)
    db.session.flush()  # its id, for the job
    queue_send(type(row), row.id)
