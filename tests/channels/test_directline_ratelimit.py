"""The anonymous webchat token limit counted in Redis: every process of a deployment shares one count."""

from __future__ import annotations

import uuid

import pytest
import redis

from app import create_app
from runtime.extensions import db

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def two_processes(database, tmp_path):
    """Two apps on one database and one Redis, as two gunicorn workers are."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    config = {"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "test", "REDIS_URL": REDIS_URL,
              "WEBCHAT_TOKEN_RATE_LIMIT": "3 per minute", **database}
    apps = [create_app(config), create_app(config)]
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_processes_share_the_count(two_processes):
    first, second = (app.test_client() for app in two_processes)
    visitor = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}  # a key of its own

    def token(client):
        return client.post("/b/nobody/webchat/token", headers={"Origin": "https://shop.example"},
                           environ_base=visitor)

    # Within the limit the request goes on (and is answered 404: there is no such bot).
    assert [token(first).status_code for _ in range(3)] == [404] * 3
    limited = token(second)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["error"]["code"] == "TooManyRequests"
