"""Webhook signing against the Standard Webhooks reference example, and the retry rules, clock-free."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from runtime.webhooks import policy, signing

# The example of the Standard Webhooks specification (and the Svix libraries' tests).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID, TIMESTAMP, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'


def test_signatures_match_the_reference_example():
    assert signing.sign(SECRET, MSG_ID, TIMESTAMP, BODY) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_two_secrets_give_two_signatures_either_of_which_verifies():
    other = signing.new_secret()
    headers = signing.headers([other, SECRET], MSG_ID, TIMESTAMP, BODY)
    assert len(headers["webhook-signature"].split()) == 2
    assert signing.verify(SECRET, headers, BODY) and signing.verify(other, headers, BODY)
    assert not signing.verify(signing.new_secret(), headers, BODY)


def test_made_secrets_are_valid_and_others_are_refused():
    assert signing.valid_secret(signing.new_secret())
    assert not signing.valid_secret("whsec_short") and not signing.valid_secret("plain-text-secret")


def test_the_retry_schedule_is_jittered_and_ends_after_four_retries():
    rng = random.Random(1)
    for tries, nominal in enumerate(policy.RETRY_DELAYS, start=1):
        delay = policy.judge(503, tries, rng=rng).retry_in
        assert nominal * 0.9 <= delay <= nominal * 1.1
    assert policy.judge(503, 5) == policy.Verdict()  # failed for good


def test_what_is_retried():
    assert policy.judge(204, 1).done
    assert policy.judge(410, 1).gone
    assert policy.judge(None, 1).retry_in and policy.judge(408, 1).retry_in and policy.judge(429, 1).retry_in
    assert policy.judge(400, 1) == policy.judge(404, 1) == policy.judge(302, 1) == policy.Verdict()


def test_retry_after_in_seconds_or_as_a_date_is_honoured_and_capped():
    assert policy.judge(429, 1, "600").retry_in >= 600
    assert policy.judge(503, 1, "999999").retry_in <= policy.MAX_RETRY_AFTER * 1.0
    date = format_datetime(datetime.now(UTC) + timedelta(minutes=20), usegmt=True)
    assert 1100 < policy.judge(503, 1, date).retry_in <= 1200
    assert policy.judge(503, 1, "soon").retry_in < 70
