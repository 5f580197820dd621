"""The rate limit of the anonymous webchat token URL: WEBCHAT_TOKEN_RATE_LIMIT per client address.

Counted with `limits` (the library under Flask-Limiter) in a moving window, so a burst cannot slip
through at the edge of two fixed windows; in Redis when REDIS_URL is set (shared by every process),
else in the process's memory. Flask-Limiter itself is not used: it hooks every request of the app
(before, after and teardown), which cost a quarter of each Direct Line poll, for one limited route.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from runtime.jobs import limits_storage

log = logging.getLogger(__name__)

EXTENSION = "arbor.webchat_rate_limit"
SCOPE = "webchat-token"


def init_app(app: Flask) -> None:
    storage = storage_from_string(limits_storage(app), key_prefix=app.config["ARBOR_REDIS_PREFIX"] or "LIMITS")
    app.extensions[EXTENSION] = MovingWindowRateLimiter(storage)


def check(message: str) -> None:
    """Count one request from the caller's address; raise 429 (with Retry-After) past the limit.

    A storage that cannot be reached lets the request through (logged): the limit guards against
    floods, and an outage of Redis should not close every chat.
    """
    limiter: MovingWindowRateLimiter = current_app.extensions[EXTENSION]
    limit = parse(current_app.config["WEBCHAT_TOKEN_RATE_LIMIT"])
    client = request.remote_addr or "127.0.0.1"
    try:
        if limiter.hit(limit, SCOPE, client):
            return
        reset = limiter.get_window_stats(limit, SCOPE, client).reset_time
    except Exception:  # whatever the storage raised: let the request through
        log.exception("webchat rate limit: the storage failed; request let through")
        return
    raise TooManyRequests(message, retry_after=max(1, math.ceil(reset - time.time())))
