"""An e-mail's or SMS's failure reason never shows a secret: what the other side answered is stored (on the row, the
transcript, the designer) and logged with the settings' token blanked out, and the failed job's own error (RQ's
log, the Queue page) leaves the provider's words out.

The SMS provider (pytest-httpserver on loopback) refuses the bot's credentials and quotes back what it was sent:
the token itself and the Basic credentials made of it, as a careless or hostile provider could."""

from __future__ import annotations

import base64
import logging

import pytest
from aiosmtpd.smtp import AuthResult
from werkzeug import Request, Response

from runtime.extensions import db
from runtime.management import settings
from runtime.management.models import OutgoingEmail, OutgoingSms
from runtime.steps.base import Input
from runtime.turns.turn import handle, start_conversation
from tests.smtp_server import serving

TOKEN = "tw-secret-0123456789"
BASIC = base64.b64encode(f"AC123:{TOKEN}".encode()).decode()


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


def quoting(request: Request) -> Response:
    """A 401 quoting the request's credentials back, in the JSON message Arbor reads."""
    said = f"Bad credentials {request.headers.get('Authorization')} (token {TOKEN})"
    return Response(f'{{"code": 20003, "message": "{said}"}}', status=401, content_type="application/json")


def test_an_sms_providers_answer_quoting_the_token_is_stored_and_logged_without_it(app, bots, httpserver, jobs,
                                                                                  caplog):
    bots.load("outbox")
    httpserver.expect_request("/2010-04-01/Accounts/AC123/Messages.json").respond_with_handler(quoting)
    with app.app_context():
        settings.set_sms("outbox", account="AC123", token=TOKEN, sender="+15005550006",
                         base_url=httpserver.url_for("/"))
        conversation, _ = start_conversation("outbox", "u-eva", "webchat", data={"phone": "+420777000111"})
        handle(conversation.id, Input.message("yes please"))
    with caplog.at_level(logging.DEBUG):
        jobs.drain_all()
    with app.app_context():
        row = db.session.query(OutgoingSms).one()
    (given_up,) = jobs.failed()
    for text in (row.error, caplog.text, given_up.latest_result().exc_string):
        assert TOKEN not in text and BASIC not in text
    assert len(httpserver.log) == 1 and row.status == "failed"
    assert row.error == ("The SMS provider refused the message (20003: Bad credentials Basic [hidden] (token "
                         "[hidden])); check the account SID and auth token in the bot's SMS provider settings "
                         "(Developers > E-mail and SMS).")


PASSWORD = "smtp-PW-5e0c71"


class Quoting:
    """An SMTP server's handler and authenticator that takes the login, then refuses the first recipient quoting
    the password it was given, and takes the others."""

    def __init__(self):
        self.password, self.rcpt_tos = "", []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.password = auth_data.password.decode()
        return AuthResult(success=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if not envelope.rcpt_tos and not self.rcpt_tos:
            self.rcpt_tos.append(None)
            return f"550 5.1.1 {address} unknown to user bot with password {self.password}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.rcpt_tos.extend(envelope.rcpt_tos)
        return "250 OK"


def test_a_partial_refusal_quoting_the_password_is_noted_and_logged_without_it(app, bots, jobs, caplog):
    """The note on an e-mail sent to some recipients (the refused ones, with the server's words) hides the SMTP
    password the server quotes back, on the row and in the worker's log."""
    bots.load("outbox")
    handler = Quoting()
    with serving(handler, authenticator=handler, auth_require_tls=False) as controller:
        with app.app_context():
            settings.set_smtp("outbox", host="127.0.0.1", port=controller.port, security="none", username="bot",
                              password=PASSWORD, sender="bot@shop.example")
            conversation, _ = start_conversation("outbox", "u-eva", "webchat", data={"email": "eva@example.com"})
            handle(conversation.id, Input.message("yes please"))
        with caplog.at_level(logging.DEBUG):
            jobs.drain_all()
    assert handler.password == PASSWORD and handler.rcpt_tos == [None, "sales@example.com"]
    with app.app_context():
        row = db.session.query(OutgoingEmail).one()
    assert (row.status, row.error) == ("sent", "Sent to 1 of 2 recipients; the mail server refused eva@example.com "
                                       "(550 5.1.1 eva@example.com unknown to user bot with password [hidden]); "
                                       "check the address.")
    ours = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("runtime"))
    assert PASSWORD not in ours and "with password [hidden]" in ours  # (aiosmtpd's own log is the server's)
