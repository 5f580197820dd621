"""When a failed attempt is tried again: the retry rules of outgoing webhooks, pure and clock-free.

An attempt succeeds on 2xx within the timeout. 5xx, 408, 429 and network errors (timeouts included)
are retried, at most `len(RETRY_DELAYS)` times over about an hour, each delay jittered so that many
receivers failing at once are not all retried in the same second; a `Retry-After` longer than the
delay is honoured. Other answers (4xx, and 3xx: redirects are not followed) fail the delivery at once;
410 Gone also switches the subscription off.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

TIMEOUT = 5.0  # seconds to answer 2xx
RETRY_DELAYS = (60, 5 * 60, 15 * 60, 39 * 60)  # after the 1st, 2nd, 3rd and 4th failed attempt
JITTER = 0.1  # +-10%
MAX_RETRY_AFTER = 3600
CONSECUTIVE_FAILURES_LIMIT = 5  # failed deliveries in a row that switch a subscription off


@dataclass(frozen=True)
class Verdict:
    """What an attempt's outcome means: `done` (delivered), `retry_in` seconds, or neither (failed for good)."""

    done: bool = False
    retry_in: float | None = None
    gone: bool = False  # 410: the receiver asks us to stop


def judge(status: int | None, tries: int, retry_after: str | None = None, rng: random.Random | None = None) -> Verdict:
    """The verdict on attempt number `tries` (1-based) that answered `status` (None: a network error or timeout)."""
    if status is not None and 200 <= status < 300:
        return Verdict(done=True)
    if status == 410:
        return Verdict(gone=True)
    if not retryable(status) or tries > len(RETRY_DELAYS):
        return Verdict()
    delay = RETRY_DELAYS[tries - 1] * (1 + (rng or random).uniform(-JITTER, JITTER))
    return Verdict(retry_in=max(delay, retry_after_seconds(retry_after)))


def retryable(status: int | None) -> bool:
    """Whether an HTTP answer (None: a network error or timeout) may pass on a later try: 5xx, 408, 429 and no
    answer; any other 4xx is a refusal no retry changes. The e-mail and SMS outbox judges an SMS provider's so."""
    return status is None or status >= 500 or status in (408, 429)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date), capped; 0 if absent or unreadable.
    The e-mail and SMS outbox reads an SMS provider's with it too."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_RETRY_AFTER))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - (now or datetime.now(UTC))).total_seconds(), MAX_RETRY_AFTER))
