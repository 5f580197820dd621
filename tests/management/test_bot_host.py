"""A bot's own host name (ARBOR_BOT_HOST): the API book's paths with no `/b/<bot>` prefix, on that host only."""

from __future__ import annotations

import pytest
from database_away import database_away
from directline_client import Chat, secret_of, texts
from management import address, make_key

from app import create_app
from runtime.store import outage

HOST = "http://loyalty.bots.example"
TRANSACTION = {"transaction": {"id": "T-1001", "points": 500, "partner": "SkyMiles"}}


@pytest.fixture
def app_config():
    return {"ARBOR_BOT_HOST": "<bot>.bots.example"}


@pytest.fixture
def key(app, bots):
    bots.load("loyalty")
    return make_key(app, "loyalty", "crm")


def test_the_documented_paths_work_on_the_bots_host(app, client, key):
    chat = Chat.generate(client, secret_of(app, "loyalty"), {"user": {"id": "dl_eva"}})
    chat.poll()
    where = address("loyalty", "dl_eva")
    triggered = client.post(f"/api/management/trigger/{where}/transfer-complete/clear?code={key}", json=TRANSACTION,
                            base_url=HOST)
    assert triggered.status_code == 202 and triggered.json["clear"] is True, triggered.json
    assert texts(chat.poll()) == ["Transfer T-1001 is complete: 500 points went to SkyMiles."]
    exported = client.get("/api/management/export/userData", headers={"x-functions-key": key}, base_url=HOST)
    assert exported.status_code == 200 and [row["userId"] for row in exported.json] == ["dl_eva"]
    # The prefixed paths and the server's own paths still answer there; a wrong method is a 405, not a 404.
    assert client.get(f"/b/loyalty/api/management/export/userData?code={key}", base_url=HOST).status_code == 200
    assert client.get("/api/openapi.json", base_url=HOST).status_code == 200
    assert client.get(f"/api/management/trigger/{where}/transfer-complete?code={key}", base_url=HOST).status_code == 405


def test_only_a_bots_host_drops_the_prefix(client, key):
    answer = client.get(f"/api/management/export/userData?code={key}")  # localhost: not a bot's host
    assert answer.status_code == 404
    assert client.get(f"/api/management/export/userData?code={key}", base_url="http://bots.example").status_code == 404


def test_a_host_of_no_bot_is_a_404_saying_so(client, key):
    answer = client.get(f"/api/management/export/userData?code={key}", base_url="http://nobody.bots.example")
    assert answer.status_code == 404 and answer.json["error"] == {"code": "NotFound", "message": (
        "There is no bot 'nobody' at nobody.bots.example: the host names a bot by its id (ARBOR_BOT_HOST); check "
        "the bot's id in the designer.")}


def test_a_database_that_does_not_answer_is_the_same_503_on_a_bots_host(app, client, key, tmp_path, postgres):
    """The host's bot is looked up in the database: while it does not answer, Retry-After as on every path."""
    with database_away(app, tmp_path, postgres):
        on_host = client.get(f"/api/management/export/userData?code={key}", base_url=HOST)
        prefixed = client.get(f"/b/loyalty/api/management/export/userData?code={key}")
    assert on_host.status_code == prefixed.status_code == 503
    assert on_host.headers["Retry-After"] == prefixed.headers["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert on_host.json == prefixed.json == {"error": {"code": "ServiceUnavailable", "message": outage.MESSAGE}}
    assert client.get(f"/api/management/export/userData?code={key}", base_url=HOST).status_code == 200  # back


def test_behind_a_trusted_proxy_the_forwarded_host_counts(app, key):
    """A second app on the same data, behind one proxy: the host the client asked for is the forwarded one."""
    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1, "AUTO_MIGRATE": False})
    answer = proxied.test_client().get(f"/api/management/export/userData?code={key}",
                                       headers={"X-Forwarded-Host": "loyalty.bots.example"})
    assert answer.status_code == 200 and answer.json == []


@pytest.mark.parametrize("setting", ["bots.example", "<bot>.<bot>.example", "<bot>.bots example"])
def test_a_setting_without_one_placeholder_is_refused_saying_how(tmp_path, setting):
    with pytest.raises(ValueError, match=r"ARBOR_BOT_HOST must be a host name with <bot> once"):
        create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "x", "ARBOR_BOT_HOST": setting})
