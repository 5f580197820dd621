"""Which editors and agents may open which bots: one row per (bot, user) given access.

Admins open every bot. An agent answers the handed-over conversations of the bots an admin gave them.
An editor opens the bots they made (access is given to the maker when the designer creates, imports or
duplicates a bot) and those an admin gave them. Bots from the CLI or the examples
have no maker: only admins see them until an admin gives an editor access.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Select, delete, exists, select
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.store.accounts import AccountError, User, find_user
from runtime.store.models import Bot, UTCDateTime, utcnow


class BotAccess(db.Model):
    __tablename__ = "bot_access"

    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _has_access(user: User):
    return exists().where(BotAccess.bot_id == Bot.id, BotAccess.user_id == user.id)


def can_open(user: User, bot_id: str) -> bool:
    """Whether `user` may see the bot (and change it, unless an agent); an admin always may."""
    if user.is_admin:
        return True
    return db.session.get(BotAccess, (bot_id, user.id)) is not None


def visible(statement: Select, user: User) -> Select:
    """`statement` (a select over Bot) narrowed to the bots `user` may open."""
    return statement if user.is_admin else statement.where(_has_access(user))


def record_maker(bot_id: str, user: User) -> None:
    """The designer made this bot for `user`: note it as the maker and give them access."""
    db.session.get(Bot, bot_id).created_by = user.email
    if db.session.get(BotAccess, (bot_id, user.id)) is None:
        db.session.add(BotAccess(bot_id=bot_id, user_id=user.id))
    db.session.commit()


def people(bot_id: str) -> list[User]:
    """The editors and agents given access to the bot, by e-mail."""
    statement = (select(User).join(BotAccess, BotAccess.user_id == User.id)
                 .where(BotAccess.bot_id == bot_id, User.role != "admin").order_by(User.email))
    return list(db.session.scalars(statement))


def editors() -> list[str]:
    """Every editor's and agent's e-mail, to pick from when giving access."""
    return list(db.session.scalars(select(User.email).where(User.role != "admin").order_by(User.email)))


def grant(bot_id: str, email: str) -> User:
    """Give the editor or agent with this e-mail access; AccountError if there is no such person."""
    user = find_user(email)
    if user is None:
        raise AccountError(f"There is no user {email.strip()}. An administrator adds people on the Users page first.")
    if user.is_admin:
        raise AccountError(f"{user.email} is an administrator and opens every bot already.")
    if db.session.get(BotAccess, (bot_id, user.id)) is None:
        db.session.add(BotAccess(bot_id=bot_id, user_id=user.id))
        db.session.commit()
    return user


def revoke(bot_id: str, user_id: int) -> None:
    db.session.execute(delete(BotAccess).where(BotAccess.bot_id == bot_id, BotAccess.user_id == user_id))
    db.session.commit()




def bot_ids(user: User) -> list[str] | None:
    """The ids of the bots `user` may open; None for an admin, who opens every bot."""
    if user.is_admin:
        return None
    return list(db.session.scalars(select(BotAccess.bot_id).where(BotAccess.user_id == user.id)))
