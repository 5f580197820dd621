"""Hole 2 of issue 15: a stored credential is bound to the destination it was entered for (SMTP host and port,
SMS base URL, an integration's base URL). An editor who points the settings elsewhere and leaves the secret
field empty ("keep the stored one") gets the secret cleared: it never reaches the new destination.

Real parts on loopback, allow-listed: two aiosmtpd servers that record every AUTH, two pytest-httpserver
servers that record every request; the designer's forms through the Flask test client, the CLI through Click's
runner, the jobs run in process (tests/jobs.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from designer_client import Designer  # noqa: E402

from runtime.extensions import db  # noqa: E402
from runtime.integrations import authoring  # noqa: E402
from runtime.management import settings as outbox  # noqa: E402
from runtime.management.models import OutgoingEmail, OutgoingSms  # noqa: E402
from runtime.steps.base import Input  # noqa: E402
from runtime.store import bot_access  # noqa: E402
from runtime.store.drafts import load_draft, save_draft  # noqa: E402
from runtime.turns.turn import handle, start_conversation  # noqa: E402
from tests.smtp_server import SmtpServer

PASSWORD = "smtp-PW-7d1e9a"
SMS_TOKEN = "sms-TOKEN-4b2c"
API_TOKEN = "api-TOKEN-9f3e"
EVA = {"name": "Eva", "email": "eva@example.com", "phone": "+420777000111"}


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}


class Recorder:
    """An aiosmtpd handler and authenticator: every AUTH tried (user, password) and every message."""

    def __init__(self):
        self.logins: list[tuple[str, str]] = []
        self.messages: list = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def smtp_servers():
    """Two SMTP servers on 127.0.0.1 that take AUTH PLAIN/LOGIN without TLS: the real one, the editor's own."""
    made = []
    for _ in range(2):
        recorder = Recorder()
        controller = SmtpServer(recorder, authenticator=recorder, auth_require_tls=False)
        controller.start()
        made.append((controller, recorder))
    yield made
    for controller, _ in made:
        controller.stop()


@pytest.fixture
def editor(app, client, bots) -> Designer:
    bots.load("outbox")
    made = Designer(app, client).sign_in("ed@example.com", "editor pass", role="editor")
    with app.app_context():
        bot_access.grant("outbox", "ed@example.com")
        db.session.remove()
    return made


def converse(app, user: str) -> None:
    """A conversation of the outbox bot up to its e-mail and SMS steps (each writes an outbox row)."""
    with app.app_context():
        conversation, _ = start_conversation("outbox", user, "webchat", data=EVA)
        handle(conversation.id, Input.message("yes please"))
        db.session.remove()


def smtp_form(port: int, password: str = "") -> dict:
    return {"host": "127.0.0.1", "port": str(port), "security": "none", "username": "bot", "password": password,
            "from": "bot@shop.example"}


def test_smtp_password_is_cleared_when_the_server_changes_and_never_sent_there(app, editor, runner, smtp_servers,
                                                                              jobs):
    (real, real_seen), (theirs, their_seen) = smtp_servers
    assert editor.post("/designer/bots/outbox/developers/smtp", smtp_form(real.port, PASSWORD)).status_code == 302
    converse(app, "u-1")
    jobs.drain()
    assert real_seen.logins == [("bot", PASSWORD)] and len(real_seen.messages) == 1  # the set-up works

    # The editor points the bot at their own server and leaves the password field empty.
    moved = editor.post("/designer/bots/outbox/developers/smtp", smtp_form(theirs.port))
    assert moved.status_code == 302
    with app.app_context():
        assert outbox.shown("outbox", "smtp")["passwordSet"] is False
        db.session.remove()
    converse(app, "u-2")
    jobs.drain_all()  # every try, until RQ gives it up
    assert their_seen.logins == [] and their_seen.messages == []
    with app.app_context():
        row = db.session.query(OutgoingEmail).filter_by(user_id="u-2").one()
        assert row.status == "failed" and "no password" in row.error and PASSWORD not in row.error
        db.session.remove()

    # The CLI binds it the same way: set again for the real server, then moved without --password-stdin.
    cli = ["outbox", "smtp", "outbox", "--host", "127.0.0.1", "--security", "none", "--username", "bot",
           "--from", "bot@shop.example"]
    assert runner.invoke(args=[*cli, "--port", str(real.port), "--password-stdin"],
                         input=PASSWORD + "\n").exit_code == 0
    kept = runner.invoke(args=[*cli, "--port", str(real.port)])  # same destination: kept
    assert '"passwordSet": true' in kept.output
    cleared = runner.invoke(args=[*cli, "--port", str(theirs.port)])
    assert cleared.exit_code == 0 and '"passwordSet": false' in cleared.output
    # Re-entered in the same save, it is kept for the new destination.
    again = editor.post("/designer/bots/outbox/developers/smtp", smtp_form(theirs.port, "a-new-one"))
    assert again.status_code == 302
    with app.app_context():
        assert outbox.settings("outbox", "smtp")["password"] == "a-new-one"


def test_sms_token_is_cleared_when_the_base_url_changes(app, editor, httpserver, other_server, jobs):
    httpserver.expect_request("/2010-04-01/Accounts/AC1/Messages.json", method="POST").respond_with_json(
        {"sid": "SM1"}, status=201)
    other_server.expect_request("/2010-04-01/Accounts/AC1/Messages.json", method="POST").respond_with_json(
        {"sid": "SM2"}, status=201)
    form = {"account": "AC1", "token": SMS_TOKEN, "from": "+15550100", "baseUrl": httpserver.url_for("/")}
    assert editor.post("/designer/bots/outbox/developers/sms", form).status_code == 302
    moved = editor.post("/designer/bots/outbox/developers/sms", {**form, "token": "",
                                                               "baseUrl": other_server.url_for("/")})
    assert moved.status_code == 302
    with app.app_context():
        assert outbox.shown("outbox", "sms")["tokenSet"] is False
        db.session.remove()
    converse(app, "u-3")
    jobs.drain_all()
    assert all(SMS_TOKEN not in str(request.headers) for request, _ in other_server.log)
    assert other_server.log == []
    with app.app_context():
        row = db.session.query(OutgoingSms).one()
        assert row.status == "failed" and "no auth token" in row.error


def test_integration_secret_is_cleared_when_the_base_url_changes(app, editor, httpserver, other_server):
    httpserver.expect_request("/api").respond_with_data("")
    other_server.expect_request("/api").respond_with_data("")
    bot_id = editor.create_bot()

    def configure(base: str, token: str, original: str):
        return editor.post(f"/designer/bots/{bot_id}/integrations", {
            "revision": editor.draft(bot_id)[1], "template": "http-request", "original": original, "name": "crm",
            "config.baseUrl": base, "auth.type": "bearer", "secret.token": token})

    assert configure(httpserver.url_for("/api"), API_TOKEN, "").status_code == 302
    assert configure(httpserver.url_for("/api"), "", "crm").status_code == 302  # same address: kept
    assert editor.draft(bot_id)[0]["integrations"]["crm"]["secrets"] == {"token": "crm.token"}
    assert configure(other_server.url_for("/api"), "", "crm").status_code == 302
    integration = editor.draft(bot_id)[0]["integrations"]["crm"]
    assert "token" not in (integration.get("secrets") or {})  # the form shows it as not set
    page = editor.client.get(f"/designer/bots/{bot_id}/integrations/crm").text
    assert "set — empty keeps it" not in page

    # Even mapped back by hand (a JSON edit or an import of the draft), the secret entered for the first base
    # URL is not handed to a call of the second.
    with app.app_context():
        doc, revision = load_draft(bot_id)
        doc["integrations"]["crm"]["secrets"] = {"token": "crm.token"}
        save_draft(bot_id, doc, revision, label="by hand")
        outcome = authoring.test_connection(bot_id, doc["integrations"]["crm"])
        db.session.remove()
    assert outcome["ok"] is False and "entered for another address" in outcome["message"]
    assert all(API_TOKEN not in str(request.headers) for request, _ in other_server.log)
    assert other_server.log == []
