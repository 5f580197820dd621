"""Channel tests: the platforms' servers run on loopback, allow-listed for these apps only."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}
