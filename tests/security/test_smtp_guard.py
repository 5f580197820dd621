"""Hole 2 of issue 15: SMTP goes through the outbound guard and allow-list (OUTBOUND_ALLOW_HOSTS) as HTTP does,
and its connection errors read the same for every refusal, so an editor cannot use the bot's e-mail step to
reach, or map, our own network.

A real SMTP server (aiosmtpd) listens on 127.0.0.2, which is loopback and not allow-listed (only 127.0.0.1 is):
without the guard the e-mail would reach it. A host name resolving to it (the app's resolver hook) is refused
alike, and so is a closed port on the allow-listed 127.0.0.1; the three errors are one sentence."""

from __future__ import annotations

import socket

import pytest

from runtime.extensions import db
from runtime.management import settings as outbox
from runtime.management.models import OutgoingEmail
from runtime.steps.base import Input
from runtime.turns.turn import handle, start_conversation
from tests.smtp_server import serving

HIDDEN = "127.0.0.2"


def resolver(host, port, *args, **kwargs):
    """The test's DNS: mail.attacker.example points at the hidden loopback address, the rest as usual."""
    if host == "mail.attacker.example":
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (HIDDEN, port))]
    return socket.getaddrinfo(host, port, *args, **kwargs)


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1", "INTEGRATIONS_RESOLVER": resolver}


class Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def hidden_server():
    inbox = Inbox()
    with serving(inbox, HIDDEN) as controller:
        yield controller, inbox


def send_through(app, jobs, user: str, host: str, port: int) -> str:
    """One e-mail of the outbox bot sent through `host`:`port`; the error recorded on its row."""
    with app.app_context():
        outbox.set_smtp("outbox", host=host, port=port, security="none", sender="bot@shop.example")
        conversation, _ = start_conversation("outbox", user, "webchat", data={"email": "eva@example.com"})
        handle(conversation.id, Input.message("yes please"))
        db.session.remove()
    jobs.drain_all()  # every try, until RQ gives it up
    with app.app_context():
        row = db.session.query(OutgoingEmail).filter_by(user_id=user).one()
        db.session.remove()
    assert row.status == "failed"
    return row.error.replace(f"{host}:{port}", "HOST:PORT")


def test_smtp_to_a_refused_address_is_refused_like_a_closed_port(app, bots, jobs, hidden_server):
    bots.load("outbox")
    controller, inbox = hidden_server
    by_address = send_through(app, jobs, "u-1", HIDDEN, controller.port)
    by_name = send_through(app, jobs, "u-2", "mail.attacker.example", controller.port)
    assert inbox.messages == []  # the guard stopped both before any SMTP was spoken
    closed = send_through(app, jobs, "u-3", "127.0.0.1", 1)  # nothing listens on port 1
    assert by_address == by_name == closed
    assert "Could not connect to an SMTP server at HOST:PORT" in closed
    assert "loopback" not in closed and "refused" in closed.lower()
