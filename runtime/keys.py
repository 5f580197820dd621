"""Keys derived from the app's SECRET_KEY, one per purpose, shared by every package that signs or encrypts
(Direct Line tokens and secrets, stored bot secrets, webhook and platform credentials, the URL tracker).

Operators keep one secret; each use gets its own key from it (HMAC-SHA256 with the purpose as the
message), so a key recovered from one use (a token signature) tells nothing about another (the
encryption of stored secrets).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet
from flask import current_app


def derived_key(purpose: str) -> bytes:
    """32 bytes for `purpose`, stable as long as SECRET_KEY is."""
    return _derive(current_app.config["SECRET_KEY"], purpose)


@lru_cache(maxsize=64)
def _derive(secret: str | bytes, purpose: str) -> bytes:
    """Remembered: every Direct Line request checks a token with the key derived here."""
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, f"arbor/{purpose}".encode(), hashlib.sha256).digest()


def fernet(purpose: str) -> Fernet:
    """A Fernet cipher keyed for `purpose`: stored secrets are sealed with it."""
    return Fernet(base64.urlsafe_b64encode(derived_key(purpose)))
