"""Direct Line tokens: signed JWTs that open one conversation of one bot, as one user, for a while.

A JWT (HS256, key derived from SECRET_KEY) rather than an opaque token because WebChat reads the
`user` claim of a JWT token and talks as that user: suggested actions addressed to the user then
show, and the site backend that generated the token decides who the user is. Nothing is stored:
a token is valid while its signature checks and `exp` is ahead of the clock. The clock is the
`DIRECTLINE_CLOCK` setting (a callable giving UNIX seconds), so tests can move time.

A token the anonymous webchat token URL hands a page carries that page's origin (`origin`), and so do the
tokens refreshed from it and its streamUrl's: the conversation is the page's, held to the bot's allowed
websites as strictly as the token URL was (`cors.check_page`). Tokens made with the secret carry none.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jwt
from flask import current_app

from runtime.keys import derived_key

ALGORITHM = "HS256"
ISSUER = "arbor"
AUDIENCE = "arbor/directline"
STREAM_AUDIENCE = "arbor/directline-stream"  # the `t` of a streamUrl: opens the stream only
STREAM_TTL = 60  # seconds a streamUrl may be used in (as Microsoft's service has it)
CLAIMS = ("bot", "conv", "user", "exp")  # required; `origin` is there for a page's conversation only


class TokenRejected(Exception):
    """Not a token this server signed, or one that was altered."""


class TokenExpired(TokenRejected):
    """A genuine token past its `exp`."""


@dataclass(frozen=True)
class Grant:
    """What a credential opens: a secret opens its bot; a token one conversation of it, as one user. `origin`: the
    page the anonymous webchat token URL opened the conversation for (None: opened with the secret)."""

    bot_id: str
    conversation_id: str | None = None
    user_id: str | None = None
    origin: str | None = None

    @property
    def is_token(self) -> bool:
        return self.conversation_id is not None


def now() -> float:
    return current_app.config["DIRECTLINE_CLOCK"]()


def lifetime() -> int:
    """Seconds a token is valid for (DIRECTLINE_TOKEN_TTL)."""
    return current_app.config["DIRECTLINE_TOKEN_TTL"]


def issue(grant: Grant, *, audience: str = AUDIENCE) -> str:
    """A new token for the grant's conversation, valid for `lifetime()` seconds from now (a stream token,
    `STREAM_AUDIENCE`, for `STREAM_TTL`)."""
    if not grant.is_token:
        raise ValueError("a token opens one conversation; the grant names none")
    moment = int(now())
    claims = {"iss": ISSUER, "aud": audience, "bot": grant.bot_id, "conv": grant.conversation_id,
              "user": grant.user_id, "iat": moment,
              "exp": moment + (STREAM_TTL if audience == STREAM_AUDIENCE else lifetime())}
    if grant.origin is not None:
        claims["origin"] = grant.origin
    return jwt.encode(claims, derived_key("directline-token"), algorithm=ALGORITHM)


def read(token: str, *, audience: str = AUDIENCE) -> Grant:
    """The grant a token carries; TokenExpired or TokenRejected if it does not open anything now.

    Expiry is checked here against our clock rather than PyJWT's, so that tests can move time. A token of one
    audience (a conversation's, a stream's) does not open the other.
    """
    grant, expires = _verified(token, derived_key("directline-token"), audience)
    if expires <= now():
        raise TokenExpired()
    return grant


@lru_cache(maxsize=4096)
def _verified(token: str, key: bytes, audience: str) -> tuple[Grant, float]:
    """The grant and expiry a token carries, if its signature, issuer, audience and claims check.

    Remembered per token and key: a client sends the same token with every poll, and the answer for a
    token string and a key never changes (expiry, which does, is `read`'s to check); only tokens that
    check are remembered (PyJWT's refusal raises through the cache).
    """
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, issuer=ISSUER,
                            options={"require": list(CLAIMS), "verify_exp": False, "verify_iat": False,
                                     "verify_nbf": False})
    except jwt.InvalidTokenError as e:
        raise TokenRejected(str(e)) from e
    if not all(isinstance(claims[name], str) for name in ("bot", "conv", "user")) \
            or not isinstance(claims["exp"], int | float) or not isinstance(claims.get("origin"), str | None):
        raise TokenRejected("malformed claims")
    return Grant(claims["bot"], claims["conv"], claims["user"], claims.get("origin")), claims["exp"]
