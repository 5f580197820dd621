"""Promise: the token address of an integration signing users in is reached only through the outbound guard, and
what is sent there (the code, the PKCE verifier, the client secret) goes nowhere else: a token URL on a refused
address (cloud metadata) is never called, and a token URL that redirects is not followed. Either way the sign-in
fails as the provider refusing would (the step's onError), with nothing kept."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from integrations.conftest import ALLOW_TEST_SERVERS
from sign_in_flow import BOT, publish_orders_bot, query_of, sign_in_url

from runtime.extensions import db
from runtime.store import user_tokens
from runtime.turns.transcript import transcript
from runtime.turns.turn import start_conversation


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": ALLOW_TEST_SERVERS, "ARBOR_BASE_URL": "http://arbor.test"}


def provider(token_url: str) -> SimpleNamespace:
    """A provider as the bot document names it: only the token URL is ever called by the server."""
    return SimpleNamespace(url="https://shop.example", authorize_url=lambda: "https://id.example/authorize",
                           token_url=lambda: token_url)


def come_back(app, client, token_url: str) -> tuple[int, str]:
    """The visitor is back from the provider with a code: the callback's status and page (no token is kept)."""
    with app.app_context():
        publish_orders_bot(provider(token_url))
        conversation, activities = start_conversation(BOT, "u1", "test")
        state = query_of(sign_in_url(activities))["state"]
        conversation_id, seq = conversation.id, conversation.activity_seq
    page = client.get(f"/b/{BOT}/oauth/callback", query_string={"state": state, "code": "the-code"})
    with app.app_context():
        assert user_tokens.signed_in(BOT, ["u1"]) == {}
        said = [row["text"] for row in transcript(conversation_id, seq)
                if row.get("type") == "message" and row["from"]["role"] == "bot"]
        assert said[-1] == "No problem, maybe later."  # the step's onError, as when the provider refuses
        db.session.remove()
    return page.status_code, page.get_data(as_text=True)


def test_a_token_url_on_the_cloud_metadata_address_is_never_called(app, client, caplog):
    status, page = come_back(app, client, "http://169.254.169.254/latest/token")
    assert status == 200 and "The sign-in did not work" in page
    assert "could not be reached: Refused to connect to 169.254.169.254: a link-local" in caplog.text


def test_a_token_url_that_redirects_sends_the_code_nowhere_else(app, client, httpserver, other_server, caplog):
    other_server.expect_request("/steal", method="POST").respond_with_json({"access_token": "a", "token_type": "x"})
    httpserver.expect_request("/token", method="POST").respond_with_data(
        "", status=307, headers={"Location": other_server.url_for("/steal")})
    status, page = come_back(app, client, httpserver.url_for("/token"))
    assert status == 200 and "The sign-in did not work" in page
    assert [entry[0].path for entry in httpserver.log] == ["/token"]
    assert other_server.log == []
    assert "answered with a redirect, which is not followed: set the token URL to the final address" in caplog.text
