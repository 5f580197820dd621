"""Standard Webhooks signatures (standardwebhooks.com), so receivers can use its libraries to verify us.

A secret is `whsec_` + base64 of random bytes; the signed content is `{webhook-id}.{webhook-timestamp}.{body}`;
`webhook-signature` is a space-separated list of `v1,` + base64 HMAC-SHA256, one per valid secret (two
while a secret is being rotated, so a receiver holding either one accepts the message).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def valid_secret(secret: str) -> bool:
    """Whether `secret` is a `whsec_` secret of at least 16 bytes (one a receiver may have made itself)."""
    if not secret.startswith(PREFIX):
        return False
    try:
        return len(base64.b64decode(secret[len(PREFIX):], validate=True)) >= 16
    except ValueError:
        return False


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """One `v1,<base64>` signature of the message."""
    key = base64.b64decode(secret[len(PREFIX):])
    digest = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: list[str], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, signed with every secret given."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, message_id, timestamp, body) for s in secrets_),
    }


def verify(secret: str, headers_: dict, body: str) -> bool:
    """What a receiver does: any of the signatures matches (used by tests and the docs' example)."""
    expected = sign(secret, headers_["webhook-id"], int(headers_["webhook-timestamp"]), body)
    return any(hmac.compare_digest(expected, given) for given in headers_["webhook-signature"].split())
