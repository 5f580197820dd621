"""Which failed sends are tried again and what their reason says, for the SMTP answers the end-to-end tests
(test_management_outbox.py, a real aiosmtpd server) do not provoke: pure judgements of smtplib's own errors."""

from __future__ import annotations

import smtplib

import pytest

from runtime.management.settings import SettingsIncomplete
from runtime.messaging import failures

SETTINGS = failures.SMTP_SETTINGS


@pytest.mark.parametrize("error, permanent, reason", [
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid"), True,
     f"The mail server refused the user name and password (535 5.7.8 Authentication credentials invalid); check "
     f"them in {SETTINGS}."),
    (smtplib.SMTPAuthenticationError(454, b"4.7.0 Temporary authentication failure"), False,
     "The mail server could not take the message now (454 4.7.0 Temporary authentication failure)."),
    (smtplib.SMTPSenderRefused(553, b"5.7.1 Sender address rejected", "bot@shop.example"), True,
     f"The mail server refused the sender address bot@shop.example (553 5.7.1 Sender address rejected); check the "
     f"From address in {SETTINGS}."),
    (smtplib.SMTPDataError(554, b"5.6.0 Message content rejected"), True,
     "The mail server refused the message (554 5.6.0 Message content rejected)."),
    (smtplib.SMTPDataError(452, b"4.3.1 Insufficient system storage"), False,
     "The mail server could not take the message now (452 4.3.1 Insufficient system storage)."),
    (smtplib.SMTPResponseException(421, b"4.3.2 Service shutting down"), False,
     "The mail server could not take the message now (421 4.3.2 Service shutting down)."),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), True,
     f"The mail server does not offer what the settings ask for (STARTTLS extension not supported by server); "
     f"check the security and the user name in {SETTINGS}."),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), False,
     "The mail server closed the connection before the message was sent."),
    (TimeoutError("timed out"), False, "The mail server stopped answering before the message was sent."),
    (failures.SmtpUnreachable("smtp.example", 25), False,
     "Could not connect to an SMTP server at smtp.example:25 (nothing answered that Arbor may use: refused, not "
     "answering, or not allowed by this Arbor's OUTBOUND_ALLOW_HOSTS); check the host and port in the bot's SMTP "
     "server settings (Developers > E-mail and SMS), or ask whoever runs Arbor to allow them."),
    (SettingsIncomplete("The SMTP server has a user name but no password."), True,
     "The SMTP server has a user name but no password."),
    (KeyError("host"), False, failures.UNEXPECTED),
])
def test_smtp_failures(error, permanent, reason):
    assert failures.judge(error, "smtp") == failures.Failure(reason, permanent)


def test_a_password_the_server_quotes_back_is_hidden():
    error = smtplib.SMTPAuthenticationError(535, b"5.7.8 bad password hunter2 for bot")
    assert failures.judge(error, "smtp", ["hunter2", None]).reason.startswith(
        "The mail server refused the user name and password (535 5.7.8 bad password [hidden] for bot)")


def test_a_partial_refusal_names_each_refused_address_with_the_servers_words_and_hides_the_password():
    """Some recipients refused while others took the message: a note, not a failure, with what to do for each
    kind of refusal (no retry either way: the others would get the message twice)."""
    refused = {"nobody@example.com": (550, b"5.1.1 no such user"), "full@example.com": (452, b"4.2.2 hunter2 full"),
               "x@example.com": (553, b"")}
    assert failures.partly_refused(refused, 5, ["hunter2"]) == (
        "Sent to 2 of 5 recipients; the mail server refused nobody@example.com (550 5.1.1 no such user), "
        "full@example.com (452 4.2.2 [hidden] full), x@example.com (553); check the addresses; the server asked to "
        "try later, which Arbor does not do: the others would get the message twice.")


def test_every_recipient_refused_is_still_a_failure_for_good():
    error = smtplib.SMTPRecipientsRefused({"nobody@example.com": (550, b"5.1.1 no such user")})
    assert failures.judge(error, "smtp") == failures.Failure(
        "The mail server refused the recipient (nobody@example.com: 550 5.1.1 no such user); check the e-mail "
        "address.", True)
