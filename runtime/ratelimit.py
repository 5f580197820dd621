"""Per-address request limits: the anonymous webchat token URL (WEBCHAT_TOKEN_RATE_LIMIT) and refused
management API keys (MANAGEMENT_AUTH_FAILURE_LIMIT).

Counted with `limits` (the library under Flask-Limiter) in a moving window, so a burst cannot slip
through at the edge of two fixed windows; in Redis when REDIS_URL is set (shared by every process),
else in the process's memory. Flask-Limiter itself is not used: it hooks every request of the app
(before, after and teardown), Direct Line's included, which cost a tenth of each webchat turn, for
two limited routes; the views that are limited call `hit` or `check` themselves.

A storage that cannot be reached lets requests through (logged): the limits guard against floods and
guessing, and an outage of Redis should not close every chat.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from runtime.jobs import limits_storage

log = logging.getLogger(__name__)

EXTENSION = "arbor.rate_limits"


def init_app(app: Flask) -> None:
    if EXTENSION not in app.extensions:
        storage = storage_from_string(limits_storage(app), key_prefix=app.config["ARBOR_REDIS_PREFIX"] or "LIMITS")
        app.extensions[EXTENSION] = MovingWindowRateLimiter(storage)


def hit(scope: str, setting: str, message: str) -> None:
    """Count one request from the caller's address against the limit the config `setting` names (a
    `limits` string such as "20 per minute"); raise 429 (with Retry-After) past it."""
    if not count(scope, setting):
        _refuse(scope, setting, message)


def count(scope: str, setting: str, key: str | None = None) -> bool:
    """Count one request from the caller's address (or for `key`, an account); whether it was within the limit."""
    limiter, limit, client = _parts(setting, key)
    try:
        return limiter.hit(limit, scope, client)
    except Exception:  # whatever the storage raised: let the request through
        log.exception("rate limit %s: the storage failed; request let through", scope)
        return True


def check(scope: str, setting: str, message: str) -> None:
    """Raise 429 if the caller's address has used up the limit already; counts nothing."""
    limiter, limit, client = _parts(setting)
    try:
        within = limiter.test(limit, scope, client)
    except Exception:
        log.exception("rate limit %s: the storage failed; request let through", scope)
        return
    if not within:
        _refuse(scope, setting, message)


def wait(scope: str, setting: str, key: str | None = None) -> int:
    """Seconds until the caller's address (or `key`) may try again; 0 while within the limit. Counts nothing."""
    limiter, limit, client = _parts(setting, key)
    try:
        if limiter.test(limit, scope, client):
            return 0
        return max(1, math.ceil(limiter.get_window_stats(limit, scope, client).reset_time - time.time()))
    except Exception:
        log.exception("rate limit %s: the storage failed; request let through", scope)
        return 0


def _parts(setting: str, key: str | None = None) -> tuple[MovingWindowRateLimiter, RateLimitItem, str]:
    return (current_app.extensions[EXTENSION], parse(current_app.config[setting]),
            key if key is not None else request.remote_addr or "127.0.0.1")


def _refuse(scope: str, setting: str, message: str) -> None:
    limiter, limit, client = _parts(setting)
    try:
        reset = limiter.get_window_stats(limit, scope, client).reset_time
    except Exception:
        log.exception("rate limit %s: the storage failed; request let through", scope)
        return
    raise TooManyRequests(message, retry_after=max(1, math.ceil(reset - time.time())))
