"""An e-mail's or SMS's failure reason never shows a secret: what the other side answered is stored (on the row, the
transcript, the designer) and logged with the settings' token blanked out, and the failed job's own error (RQ's
log, the Queue page) leaves the provider's words out.

The SMS provider (pytest-httpserver on loopback) refuses the bot's credentials and quotes back what it was sent:
the token itself and the Basic credentials made of it, as a careless or hostile provider could."""

from __future__ import annotations

import base64
import logging

import pytest
from werkzeug import Request, Response

from runtime.extensions import db
from runtime.management import settings
from runtime.management.models import OutgoingSms
from runtime.steps.base import Input
from runtime.turns.turn import handle, start_conversation

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
