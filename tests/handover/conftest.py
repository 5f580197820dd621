"""Handover tests: webhook receivers on loopback are allowed for these apps."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}
