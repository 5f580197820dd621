"""Background-work tests: a receiver on loopback (allowed for these apps only), real Redis, real workers."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer
from webhook_receiver import Receiver


@pytest.fixture
def app_config():
    """The loopback test servers are allow-listed for these apps (a test may parametrize `app_config` to {})."""
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


@pytest.fixture
def receiver():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    made = Receiver(server)
    yield made
    made.release.set()
    server.clear()
    server.stop()
