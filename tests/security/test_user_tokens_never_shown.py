"""Promise: a user's OAuth tokens (access and refresh) are kept sealed in the bot's secret store, per user, and
are never shown, exported or logged: not in any management export, not on the Users page (names of the
integrations only), not in the transcript or the integration log, not in the app's logs. They go only to the
addresses they were granted for: an integration pointed elsewhere asks the user to sign in again."""

from __future__ import annotations

import logging

import pytest
from designer_client import Designer
from integrations.conftest import ALLOW_TEST_SERVERS
from management import make_key
from oauth_provider import CLIENT_SECRET, Provider, Running
from sign_in_flow import BOT, callback_url, consent, local_path, orders_bot, publish_orders_bot, sign_in_url
from sqlalchemy import select

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store.bots import import_bot
from runtime.store.integration_log import IntegrationLogEntry
from runtime.store.user_tokens import UserToken
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

BASE = "http://arbor.test"
# The local provider runs in the test's process, and its own (server-side) logging shows what it issues.
PROVIDER_LOGGERS = ("authlib.oauth2.rfc6749.grants", "authlib.oauth2.rfc6749.authenticate_client")
EXPORTS = ("userData", "userDataSnapshot", "nlpLog", "outgoingEmail", "outgoingSms", "fuzzyQuestionAnswerLog",
           "integrationLog", "urlTracker")


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": ALLOW_TEST_SERVERS, "ARBOR_BASE_URL": BASE}


@pytest.fixture
def provider(app, clock):
    running = Running(Provider(redirect_uris=[callback_url(BASE)]))
    with app.app_context():
        yield running.provider
        db.session.remove()
    running.stop()


def signed_in(client, provider, clock) -> tuple[str, list[str]]:
    """A visitor signed in, a call made with the token, the token refreshed and the call made again: every
    token the provider issued on the way."""
    publish_orders_bot(provider)
    conversation, activities = start_conversation(BOT, "u1", "test")
    assert client.get(local_path(consent(sign_in_url(activities)))).status_code == 200
    clock.move_to(clock.later(hours=2))
    handle(conversation.id, Input.message("again"))
    handle(conversation.id, Input.trigger("forget", clear=True))  # a snapshot of the user's data is exported too
    handle(conversation.id, Input.message("and again"))
    tokens = [t.access_token for t in provider.tokens] + [t.refresh_token for t in provider.tokens]
    assert len(tokens) == 4 and all(tokens)
    return conversation.id, tokens


def test_tokens_are_in_no_export_page_transcript_or_log(app, client, provider, clock, caplog):
    caplog.set_level(logging.DEBUG)
    conversation_id, tokens = signed_in(client, provider, clock)
    key = make_key(app, BOT)
    shown = [client.get(f"/b/{BOT}/api/management/export/{name}", query_string={"code": key}) for name in EXPORTS]
    assert [r.status_code for r in shown] == [200] * len(EXPORTS)
    Designer(app, client).sign_in()
    pages = [client.get(f"/designer/bots/{BOT}/users"), client.get(f"/designer/bots/{BOT}/integration-log"),
             client.get(f"/designer/bots/{BOT}/integrations/shop")]
    assert all(page.status_code == 200 for page in pages)
    log_rows = [str(row.__dict__) for row in db.session.scalars(select(IntegrationLogEntry))]
    assert len(log_rows) >= 2
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if not record.name.startswith(PROVIDER_LOGGERS))
    assert "GET /api/me" in logged  # the calls with the token were logged, as calls
    for text in [*(r.text for r in shown), *(p.text for p in pages), str(transcript(conversation_id)), *log_rows,
                 logged]:
        assert not any(token in text for token in [*tokens, CLIENT_SECRET])  # nor the integration's client secret


def test_tokens_are_stored_sealed(app, client, provider):
    publish_orders_bot(provider)
    _, activities = start_conversation(BOT, "u1", "test")
    client.get(local_path(consent(sign_in_url(activities))))
    [row] = db.session.scalars(select(UserToken)).all()
    [token] = provider.tokens
    assert row.sealed.startswith("gAAAAA")  # a Fernet token
    assert token.access_token not in row.sealed and token.refresh_token not in row.sealed


def test_a_token_does_not_follow_an_integration_pointed_elsewhere(app, client, provider, other_server):
    publish_orders_bot(provider)
    conversation, activities = start_conversation(BOT, "u1", "test")
    client.get(local_path(consent(sign_in_url(activities))))
    moved = orders_bot(provider)
    moved["integrations"]["shop"]["config"]["baseUrl"] = other_server.url_for("/api")
    import_bot(moved, publish=True)
    again = handle(conversation.id, Input.message("again"))
    assert sign_in_url(again)  # asked to sign in for the new address; the old token was not sent there
    assert other_server.log == []
