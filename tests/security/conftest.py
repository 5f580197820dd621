"""Security tests: one module per promise in SECURITY.md, on the suite's fixtures (tests/conftest.py)."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture
def other_server():
    """A second outside server on loopback (another port, so another origin): where a credential must not go."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()
