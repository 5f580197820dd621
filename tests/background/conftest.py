"""Background-work tests: a receiver on loopback (allowed for these apps only), real Redis, real workers."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config():
    """The loopback test servers are allow-listed for these apps (a test may parametrize `app_config` to {})."""
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}

