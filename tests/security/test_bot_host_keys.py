"""On a bot's own host name (ARBOR_BOT_HOST) the management API is that bot's, behind the same function key:
another bot's key, or none, is refused there, and the host cannot be used to reach another bot's API."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "api")]

from management import make_key  # noqa: E402


@pytest.fixture
def app_config():
    return {"ARBOR_BOT_HOST": "<bot>.bots.example"}


def test_a_bots_host_takes_only_that_bots_keys(app, client, bots):
    bots.load("loyalty")
    bots.load("store-basics")
    loyalty, other = make_key(app, "loyalty"), make_key(app, "store-basics")
    host = {"base_url": "http://loyalty.bots.example"}
    assert client.get("/api/management/export/userData", **host).status_code == 401
    assert client.get(f"/api/management/export/userData?code={other}", **host).status_code == 401
    assert client.get(f"/api/management/export/userData?code={loyalty}", **host).status_code == 200
    # Another bot's prefixed path on this host is that bot's API, with that bot's key only.
    assert client.get(f"/b/store-basics/api/management/export/userData?code={loyalty}", **host).status_code == 401
