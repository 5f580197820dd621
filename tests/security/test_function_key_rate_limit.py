"""Hole 8 of issue 15: a correct function key is always let through, however many wrong keys came from the
same address (only refusals are counted); and behind `TRUSTED_PROXIES` reverse proxies the clients are
counted by the address the proxy saw, not all as the proxy's, while with none the header is ignored."""

from __future__ import annotations

import pytest

from app import create_app
from runtime.management.keys import create_key

EXPORT = "/b/store-basics/api/management/export/userData"
PROXY = {"REMOTE_ADDR": "10.0.0.2"}  # every request arrives from the one proxy


@pytest.fixture
def key(app, bots):
    bots.load("store-basics")
    app.config["MANAGEMENT_AUTH_FAILURE_LIMIT"] = "3 per minute"
    with app.app_context():
        return create_key("store-basics", "crm")[1]


def export(client, code: str, forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.get(f"{EXPORT}?code={code}", headers=headers, environ_base=PROXY).status_code


def test_a_valid_key_passes_after_wrong_keys_from_the_same_address(client, key):
    assert [export(client, f"guess{i}") for i in range(3)] == [401] * 3
    assert export(client, "guess4") == 429  # the guesser waits
    assert export(client, key) == 200  # the integration at the same address does not
    assert client.get(EXPORT, headers={"x-functions-key": key}, environ_base=PROXY).status_code == 200
    assert export(client, "guess5") == 429  # and its successes did not reset the guesser's count


def test_successes_are_not_counted(client, key):
    assert [export(client, key) for _ in range(10)] == [200] * 10
    assert [export(client, f"guess{i}") for i in range(3)] == [401] * 3
    assert export(client, "guess4") == 429


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": "1"}])  # as read from the environment: a string
def test_behind_one_trusted_proxy_two_clients_are_counted_apart(app, client, key):
    assert app.config["TRUSTED_PROXIES"] == 1
    assert [export(client, f"guess{i}", "203.0.113.7") for i in range(3)] == [401] * 3
    assert export(client, "guess4", "203.0.113.7") == 429
    assert export(client, "guess5", "198.51.100.9") == 401  # another visitor behind the same proxy
    assert export(client, key, "203.0.113.7") == 200


def test_without_trusted_proxies_the_forwarded_header_is_ignored(app, client, key):
    assert app.config["TRUSTED_PROXIES"] == 0
    # A guesser cannot pick a new address per request by writing the header itself.
    assert [export(client, f"guess{i}", f"203.0.113.{i}") for i in range(3)] == [401] * 3
    assert export(client, "guess4", "198.51.100.9") == 429


@pytest.mark.parametrize("value", ["-1", "two"])
def test_a_wrong_trusted_proxies_setting_says_what_to_write(tmp_path, value):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES must be a whole number"):
        create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "t", "TRUSTED_PROXIES": value})
