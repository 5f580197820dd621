"""Hole 4 of issue 15: a credential goes only to its integration's own origin (scheme, host, port of its base
address). An `http-request` integration with bearer (or Basic, or an API key) whose step's address is what the
visitor typed must not hand the credential to the host the visitor named: that request is refused, with a clear
error in the integration log. And on any redirect to another origin every credential is dropped: the auth
header whatever its name, an API key's query parameter, a header carrying a secret.

Two pytest-httpserver servers on 127.0.0.1 on different ports (two origins), allow-listed."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Response

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store.bots import import_bot
from runtime.store.integration_log import IntegrationLogEntry
from runtime.store.models import BotUser
from runtime.store.secrets import set_secret
from runtime.turns.turn import handle, start_conversation

SECRET = "cred-ORIGIN-5e8a2b"
AUTHS = {
    "bearer": ({"type": "bearer"}, "token"),
    "basic": ({"type": "basic", "username": "bot"}, "password"),
    "api-key header": ({"type": "api-key", "name": "X-Shop-Key", "in": "header"}, "apiKey"),
    "api-key query": ({"type": "api-key", "name": "key", "in": "query"}, "apiKey"),
}


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}


def converse(app, base: str, auth: str, typed: str, extra: dict | None = None, user: str = "u1") -> tuple[dict, list]:
    """A bot whose http-request step calls the address the visitor typed; the user's data and the log rows."""
    kind, secret_name = AUTHS[auth]
    steps = [{"id": "q1", "type": "question", "text": "Which address?", "storage": "p"},
             {"id": "i1", "type": "integration", "use": "api", "timing": "sync", "output": "answer",
              "params": {"method": "GET", "url": "{{ p }}", **(extra or {})},
              "onError": {"action": "flag", "storage": "failed"}},
             {"id": "m1", "type": "message", "text": "done"}]
    doc = {"format": 1, "id": "origin", "name": "Origin", "start": "main", "dialogs": [{"id": "main", "steps": steps}],
           "integrations": {"api": {"template": "http-request", "config": {"baseUrl": base}, "auth": kind,
                                    "secrets": {secret_name: "api-secret"}}}}
    with app.app_context():
        import_bot(doc, publish=True)
        set_secret("origin", "api-secret", SECRET, bound_to=base)
        conversation, _ = start_conversation("origin", user, "test")
        handle(conversation.id, Input.message(typed))
        data = dict(db.session.get(BotUser, ("origin", user)).data)
        rows = [(row.url, row.error) for row in db.session.scalars(select(IntegrationLogEntry)
                                                                     .order_by(IntegrationLogEntry.id))]
        db.session.remove()
    return data, rows


def leaked(server: HTTPServer) -> list[str]:
    """What of the credential the server saw: in any header or the query string."""
    found = []
    for request, _ in server.log:
        text = str(request.headers) + request.query_string.decode()
        if SECRET in text or "Authorization" in request.headers or "X-Shop-Key" in request.headers \
                or "key" in request.args:
            found.append(request.base_url)
    return found


@pytest.mark.parametrize("auth", list(AUTHS))
def test_a_typed_address_on_another_origin_gets_no_credential(app, httpserver, other_server, auth):
    httpserver.expect_request("/api/orders").respond_with_json({"ok": True})
    other_server.expect_request("/steal").respond_with_json({"stolen": True})
    # A path, or a full address on the integration's own origin, carries the credential as configured.
    data, _ = converse(app, httpserver.url_for("/api"), auth, "/orders")
    assert data["answer"]["body"] == {"ok": True} and leaked(httpserver) == [httpserver.url_for("/api/orders")]
    # The visitor types an address on another origin: refused before any byte goes there, and logged.
    data, rows = converse(app, httpserver.url_for("/api"), auth, other_server.url_for("/steal"), user="u2")
    assert other_server.log == [] and leaked(other_server) == []
    assert data.get("failed") is True and "answer" not in data
    url, error = rows[-1]
    assert url.startswith(other_server.url_for("/steal"))
    assert "Refused to send the integration's credentials" in error and SECRET not in error


@pytest.mark.parametrize("auth", list(AUTHS))
def test_credentials_are_dropped_on_a_redirect_to_another_origin(app, httpserver, other_server, auth):
    httpserver.expect_request("/api/moved").respond_with_response(
        Response(status=302, headers={"Location": other_server.url_for("/landing")}))
    other_server.expect_request("/landing").respond_with_json({"landed": True})
    data, rows = converse(app, httpserver.url_for("/api"), auth, "/moved",
                          {"headers": {"X-Trace": "t-1"}})
    assert data["answer"]["body"] == {"landed": True}  # the redirect is followed ...
    assert len(other_server.log) == 1 and leaked(other_server) == []  # ... without the credential
    assert other_server.log[0][0].headers.get("X-Trace") == "t-1"  # (an ordinary header goes along)
    assert leaked(httpserver) == [httpserver.url_for("/api/moved")]
