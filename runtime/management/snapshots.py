"""What a `clear-data` step cleared, kept for the exports: a snapshot of the user's data before it was cleared."""

from __future__ import annotations

from runtime.extensions import db
from runtime.management.models import UserDataSnapshot
from runtime.turns.effects import Committed


def keep(committed: Committed, effect: dict) -> None:
    """After-commit handler of `user-data.snapshot`: the row is written with the effect's outbox row (once)."""
    db.session.add(UserDataSnapshot(bot_id=committed.conversation.bot_id, user_id=committed.conversation.user_id,
                                    step_id=effect.get("step"), data=effect.get("data") or {}))
