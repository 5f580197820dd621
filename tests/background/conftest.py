"""Background-work tests: a receiver on loopback (allowed for these apps only), real Redis, real workers."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer
from webhook_receiver import Receiver


@pytest.fixture(autouse=True)
def loopback_allowed(app):
    app.config["ARBOR_OUTBOUND_ALLOW"] = "127.0.0.1"


@pytest.fixture
def receiver():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    made = Receiver(server)
    yield made
    made.release.set()
    server.clear()
    server.stop()
