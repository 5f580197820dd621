"""The people who sign in to Arbor: an e-mail, a password hash (werkzeug.security) and a role.

Admins manage users and every bot; editors build bots; agents answer handed-over conversations in the agent
console, nothing else. Passwords are never stored, only their hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from runtime.extensions import db
from runtime.store.models import UTCDateTime, utcnow

ROLES = ("admin", "editor", "agent")
MIN_PASSWORD = 8


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="editor")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Flask-Login's user interface, without its mixin's session-id games.
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"

    @property
    def display_name(self) -> str:
        """The name users see when this person answers them as an agent, from the e-mail: alice.b+desk@… -> Alice B."""
        local = self.email.split("@")[0].split("+")[0].replace(".", " ").replace("_", " ").replace("-", " ")
        return " ".join(word.capitalize() for word in local.split()) or self.email

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class AccountError(ValueError):
    """A user that cannot be created as asked; the message says what to change."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def create_user(email: str, password: str, role: str = "editor") -> User:
    """A new user; AccountError for a malformed e-mail, a short password, an unknown role or a taken e-mail."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 255 or email.startswith("@") or email.endswith("@"):
        raise AccountError("Enter an e-mail address like eva@example.com.")
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"The password must have at least {MIN_PASSWORD} characters.")
    if role not in ROLES:
        raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
    if find_user(email) is not None:
        raise AccountError(f"There is already a user {email}.")
    user = User(email=email, password_hash=generate_password_hash(password), role=role)
    db.session.add(user)
    db.session.commit()
    return user


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def has_users() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))
