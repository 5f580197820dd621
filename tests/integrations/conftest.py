"""Integration tests: an app whose guard allow-lists the loopback test servers (pytest-httpserver) explicitly,
and helpers to run a template or a bot against them."""

from __future__ import annotations

import pytest

from runtime.extensions import db
from runtime.integrations import get
from runtime.integrations.calls import perform

ALLOW_TEST_SERVERS = "127.0.0.1 ::1"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": ALLOW_TEST_SERVERS}


@pytest.fixture
def app(app):
    """The test app, its context pushed for the whole test."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def call(app):
    """call("jira", {"config": ...}, input, secrets={...}): one call of a template, as the step makes it."""
    def run(slug: str, integration: dict, input_, *, secrets: dict | None = None, user_data: dict | None = None,
            timeout: float = 3.0):
        service = get()
        return perform(service.catalog.get(slug), {"template": slug, **integration}, input_, secrets=secrets or {},
                       user_data=user_data or {}, services=service.services, timeout=timeout)
    return run
