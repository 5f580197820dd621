"""Issue 15, gap of hole 2: a secret bound to no address. Secrets set on the Developers page or with the command line,
and those stored before addresses were recorded, were bound to nothing, so an editor who pointed an integration
that used one at another host sent it there. Every secret is now set for an address, and one bound to nothing is
refused to every integration until it is entered again with its address.

Real parts on loopback, allow-listed: two pytest-httpserver servers that record every request; the designer's
Developers page through the Flask test client, the CLI through Click's runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from designer_client import Designer  # noqa: E402

from runtime.extensions import db  # noqa: E402
from runtime.integrations import authoring  # noqa: E402
from runtime.store import secrets  # noqa: E402

TOKEN = "unbound-TOKEN-5e7a"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}


@pytest.fixture
def admin(app, client) -> Designer:
    return Designer(app, client).sign_in()


def crm(base: str) -> dict:
    return {"template": "http-request", "config": {"baseUrl": base}, "auth": {"type": "bearer"},
            "secrets": {"token": "crm-token"}}


def reach(app, bot_id: str, base: str) -> dict:
    with app.app_context():
        outcome = authoring.test_connection(bot_id, crm(base))
        db.session.remove()
    return outcome


def sent_token(server) -> bool:
    return any(TOKEN in str(request.headers) for request, _ in server.log)


def test_a_secret_bound_to_nothing_reaches_no_integration(app, admin, httpserver, other_server):
    httpserver.expect_request("/api").respond_with_data("", 404)
    other_server.expect_request("/api").respond_with_data("", 404)
    bot_id = admin.create_bot()
    with app.app_context():  # as stored before addresses were recorded
        secrets.set_secret(bot_id, "crm-token", TOKEN, bound_to=httpserver.url_for("/api"))
        db.session.execute(update(secrets.BotSecret).values(bound_to=None))
        db.session.commit()

    for server in (httpserver, other_server):
        outcome = reach(app, bot_id, server.url_for("/api"))
        assert outcome["ok"] is False and "bound to no address" in outcome["message"]
        assert not sent_token(server)
    page = admin.client.get(f"/designer/bots/{bot_id}/developers").text
    assert "For no address: integrations will not use it" in page
    with app.app_context():
        warned = authoring.problems({"integrations": {"crm": crm(httpserver.url_for("/api"))}},
                                    secrets.addresses(bot_id))
    assert [p.message for p in warned] == [f"The bot secret 'crm-token' was set for no address: enter it again "
                                           f"here, for {httpserver.url_for('/api')}."]

    # Set again on the Developers page for the real server: it goes there, and only there.
    saved = admin.post(f"/designer/bots/{bot_id}/developers/secrets",
                       {"name": "crm-token", "value": TOKEN, "address": httpserver.url_for("/api")})
    assert saved.status_code == 302
    assert reach(app, bot_id, httpserver.url_for("/api"))["ok"] is True and sent_token(httpserver)
    elsewhere = reach(app, bot_id, other_server.url_for("/api"))
    assert elsewhere["ok"] is False and "entered for another address" in elsewhere["message"]
    assert not sent_token(other_server)
    assert TOKEN not in admin.client.get(f"/designer/bots/{bot_id}/developers").text


@pytest.mark.parametrize("address", ["", "api.example.com", "javascript:alert(1)", "ftp://files.example.com"])
def test_the_developers_page_wants_the_address_a_secret_is_for(app, admin, address):
    bot_id = admin.create_bot()
    refused = admin.post(f"/designer/bots/{bot_id}/developers/secrets",
                         {"name": "crm-token", "value": TOKEN, "address": address})
    assert refused.status_code == 422
    assert "Say which address the secret is for, such as https://api.example.com" in refused.text
    with app.app_context():
        assert secrets.names(bot_id) == []


def test_the_command_wants_the_address_a_secret_is_for(app, admin, runner, httpserver):
    bot_id = admin.create_bot()
    with app.app_context():
        refused = runner.invoke(args=["bots", "secret", bot_id, "crm-token"], input=f"{TOKEN}\n")
        made = runner.invoke(args=["bots", "secret", bot_id, "crm-token", "--for", httpserver.url_for("/api")],
                             input=f"{TOKEN}\n")
        listed = runner.invoke(args=["bots", "secrets", bot_id])
    assert refused.exit_code == 1 and "--for https://api.example.com" in refused.output
    assert made.exit_code == 0 and TOKEN not in made.output
    assert listed.output.split() == ["crm-token", httpserver.url_for("/api")]
