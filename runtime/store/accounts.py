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
    # Bumped by sign-out and a password change: every session signed in before stops working (server-side).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Flask-Login's user interface, without its mixin's session-id games.
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """What the session cookie holds: the id and the session generation, so a revoked cookie matches no user."""
        return f"{self.id}:{self.session_generation or 0}"

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


def load_session_user(session_id: str) -> User | None:
    """The user a session cookie names, if that session was not revoked since (`id:generation`)."""
    user_id, _, generation = (session_id or "").partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and (user.session_generation or 0) == int(generation) else None


def revoke_sessions(user: User) -> None:
    """End every session of `user` on every device: their cookies no longer match (sign-out, password change)."""
    user.session_generation = (user.session_generation or 0) + 1
    db.session.commit()


def set_password(email: str, password: str) -> User:
    """Change a user's password; every session signed in with the old one ends. AccountError as create_user."""
    user = find_user(email)
    if user is None:
        raise AccountError(f"There is no user {normalize_email(email)}.")
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"The password must have at least {MIN_PASSWORD} characters.")
    user.password_hash = generate_password_hash(password)
    revoke_sessions(user)
    return user


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def has_users() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))
