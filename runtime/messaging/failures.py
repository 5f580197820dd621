"""Why a try at sending an e-mail or SMS failed, in words for the bot's owner, and whether another try can help.

A retry helps only with what may pass later: nothing answered (refused, timed out, cut off), an SMS provider's
5xx, 408 or 429 (after its Retry-After), an SMTP server's 4xx ("try again later"). Everything else is a refusal
for good, which 36 minutes of retries would only repeat: an SMS provider's other 4xx (400 a bad number or
message, 401/403 bad credentials, 404 a wrong address or account, 422), an SMTP 5xx (550 no such mailbox, 553,
554), a login refused, settings missing or incomplete, an address the outbound guard refuses. The row of such a
send is failed at once (`outbox._attempt`).

The reason is what the owner reads on the row, the transcript and in the designer: a sentence saying what
happened and, where one can tell, what to change and where; never an exception's class, a traceback or a secret
(the settings' password and token are blanked out of whatever the other side answered).

An e-mail the mail server took for some recipients and refused for others is sent, not failed, and not tried
again (the others would get it twice); its row's note names the refused addresses (`partly_refused`).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

from runtime.integrations.errors import IntegrationError, Refused
from runtime.integrations.redaction import Redactor
from runtime.management.settings import SettingsIncomplete, SettingsMissing
from runtime.webhooks import policy

SMS_SETTINGS = "the bot's SMS provider settings (Developers > E-mail and SMS)"
SMTP_SETTINGS = "the bot's SMTP server settings (Developers > E-mail and SMS)"
# What to change when the outbound guard refuses the SMS provider's address: the bot's own base URL, unless the
# provider says otherwise (a platform connection's Twilio API address is the operator's setting).
SMS_ADDRESS = f"Check the base URL in {SMS_SETTINGS}."
HIDDEN = "[hidden]"
UNEXPECTED = "Sending failed for a reason on Arbor's side; the worker's log has the details."
# Twilio's error codes (https://www.twilio.com/docs/api/errors) an owner can act on: what to change.
TWILIO_HINTS = {
    20003: "check the account SID and auth token in {settings}",
    20404: "check the account SID in {settings}",
    21211: "check the recipient's phone number",
    21214: "check the recipient's phone number",
    21614: "check the recipient's phone number: it must be a mobile number that can receive SMS",
    21610: "the recipient has unsubscribed (replied STOP); they receive messages again once they text START",
    21408: "allow the recipient's country in Twilio's Geo Permissions (Console > Messaging > Settings)",
    21617: "shorten the message to at most 1,600 characters",
    21602: "the message is empty; give it a text",
    21212: "check the sender ('From') number in {settings}",
    21606: "check the sender ('From') number in {settings}: it must be one of the account's numbers",
    21659: "check the sender ('From') number in {settings}: it must be one of the account's numbers",
}
STATUS_HINTS = {
    401: "check the account SID and auth token in {settings}",
    403: "check the account SID and auth token in {settings}, and what the account may send",
    404: "check the base URL and the account SID in {settings}",
}


@dataclass(frozen=True)
class Failure:
    """A failed try: its `reason` for the owner, whether it is `permanent` (no retry can help), and how long the
    other side asked to wait before the next try (`retry_after`, seconds; 0 when it did not say)."""

    reason: str
    permanent: bool
    retry_after: float = 0.0


class ProviderRefused(Exception):
    """An SMS provider answered with an HTTP error: its status, Twilio's error code and message, Retry-After.
    Its own text (RQ's log, the Queue page) leaves the provider's words out: they may quote what it was sent."""

    def __init__(self, name: str, status: int, code: int | None, message: str, retry_after: str | None,
                 settings: str = SMS_SETTINGS):
        super().__init__(f"{name} answered HTTP {status}" + (f" (error {code})" if code else ""))
        self.name, self.status, self.code, self.message = name, status, code, message
        self.retry_after, self.settings = retry_after, settings


class SmtpUnreachable(ConnectionError):
    """No SMTP server Arbor may use answered: one message for every cause (refused, closed, filtered, not allowed
    by the outbound guard), so a bot's editor cannot map our network through its error log. Tried again."""

    def __init__(self, host: str, port: int):
        super().__init__(f"Could not connect to an SMTP server at {host}:{port} (nothing answered that Arbor may "
                         "use: refused, not answering, or not allowed by this Arbor's OUTBOUND_ALLOW_HOSTS); check "
                         f"the host and port in {SMTP_SETTINGS}, or ask whoever runs Arbor to allow them.")


def judge(error: Exception, kind: str, secrets: Iterable[str | None] = (), address: str | None = None) -> Failure:
    """The failure a try of `kind` ("smtp" or "sms") that raised `error` is, its reason free of `secrets`;
    `address`: what to change when the outbound guard refuses the SMS provider's address (`SMS_ADDRESS` if None)."""
    failure = _smtp(error) if kind == "smtp" else _sms(error, address or SMS_ADDRESS)
    return Failure(_hidden(failure.reason, secrets), failure.permanent, failure.retry_after)


def partly_refused(refused: dict[str, tuple[int, bytes | str]], total: int,
                   secrets: Iterable[str | None] = ()) -> str:
    """The note of an e-mail sent to `total` recipients of which the mail server `refused` some (smtplib's dict of
    address to (code, reply)), free of `secrets`: who, the server's code and words, and what to do. Not a
    failure: the others have the message, and a retry would send it to them again, so no code is tried again."""
    said = ", ".join(f"{address} ({_said(code, text)})" for address, (code, text) in refused.items())
    hints = []
    if any(code >= 500 for code, _ in refused.values()):
        hints.append("check the address" if len(refused) == 1 else "check the addresses")
    if any(code < 500 for code, _ in refused.values()):
        hints.append("the server asked to try later, which Arbor does not do: the others would get the message "
                     "twice")
    note = f"Sent to {total - len(refused)} of {total} recipients; the mail server refused {said}; {'; '.join(hints)}."
    return _hidden(note, secrets)


def _hidden(reason: str, secrets: Iterable[str | None]) -> str:
    """The reason with every secret blanked, also URL-encoded or in Base64, as the integration log blanks them."""
    return Redactor([secret for secret in secrets if secret], mask=HIDDEN).text(reason)


def _settings_error(error: Exception) -> Failure | None:
    """Settings missing or incomplete (no token, a password cleared): their own message says what to set."""
    if isinstance(error, (SettingsMissing, SettingsIncomplete)):
        return Failure(str(error), permanent=True)
    return None


def _sms(error: Exception, address: str) -> Failure:
    if isinstance(error, ProviderRefused):
        return _refused(error)
    if isinstance(error, Refused):  # the outbound guard: the address (or the allow-list) must change first
        return Failure(f"{_sentence(str(error))} {address}", permanent=True)
    if isinstance(error, IntegrationError):  # not reached, no answer in time, cut off
        return Failure(f"The SMS provider could not be reached: {_sentence(str(error))}", permanent=False)
    return _settings_error(error) or _unexpected()


def _refused(error: ProviderRefused) -> Failure:
    said = (f"{error.code}" if error.code else f"HTTP {error.status}") + (
        f": {error.message.rstrip(' .')}" if error.message.rstrip(" .") else "")
    if policy.retryable(error.status):
        what = "asked Arbor to send less often" if error.status == 429 else "could not take the message now"
        return Failure(f"{error.name} {what} ({said}).", permanent=False,
                       retry_after=policy.retry_after_seconds(error.retry_after))
    hint = TWILIO_HINTS.get(error.code or 0) or STATUS_HINTS.get(error.status)
    if hint is None and error.status in (400, 422):
        hint = "check the recipient's phone number and the message"
    hint = f"; {hint.format(settings=error.settings)}" if hint else ""
    return Failure(f"{error.name} refused the message ({said}){hint}.", permanent=True)


def _smtp(error: Exception) -> Failure:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = error.recipients.items()
        codes = [code for _, (code, _) in refused]
        said = "; ".join(f"{address}: {_said(code, text)}" for address, (code, text) in refused)
        if all(code >= 500 for code in codes):
            return Failure(f"The mail server refused the recipient ({said}); check the e-mail address.",
                           permanent=True)
        return Failure(f"The mail server could not take the message for the recipient now ({said}).",
                       permanent=False)
    if isinstance(error, smtplib.SMTPResponseException):
        return _smtp_answer(error)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return Failure(f"The mail server does not offer what the settings ask for ({_sentence(str(error))[:-1]}); "
                       f"check the security and the user name in {SMTP_SETTINGS}.", permanent=True)
    if isinstance(error, ssl.SSLCertVerificationError):
        return Failure(f"The mail server's certificate could not be verified ({error.verify_message}); check the "
                       f"host name and the security in {SMTP_SETTINGS}.", permanent=True)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Failure("The mail server closed the connection before the message was sent.", permanent=False)
    if isinstance(error, SmtpUnreachable):
        return Failure(str(error), permanent=False)
    if isinstance(error, (OSError, smtplib.SMTPException)):
        return Failure("The mail server stopped answering before the message was sent.", permanent=False)
    return _settings_error(error) or _unexpected()


def _smtp_answer(error: smtplib.SMTPResponseException) -> Failure:
    """An SMTP reply code: 5xx is for good, 4xx asks to try again later."""
    code, said = error.smtp_code, _said(error.smtp_code, error.smtp_error)
    if code < 500:
        return Failure(f"The mail server could not take the message now ({said}).", permanent=False)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return Failure(f"The mail server refused the user name and password ({said}); check them in "
                       f"{SMTP_SETTINGS}.", permanent=True)
    if isinstance(error, smtplib.SMTPSenderRefused):
        return Failure(f"The mail server refused the sender address {error.sender} ({said}); check the From "
                       f"address in {SMTP_SETTINGS}.", permanent=True)
    return Failure(f"The mail server refused the message ({said}).", permanent=True)


def _unexpected() -> Failure:
    """Anything else (a bug, the database away): not the owner's to fix, so tried again; the log has the rest."""
    return Failure(UNEXPECTED, permanent=False)


def _said(code: int, text: bytes | str) -> str:
    """An SMTP reply as the owner reads it: its code and the server's words on one line, at most 300 characters
    of them (`550 5.1.1 No such mailbox`)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())[:300]}".strip()


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."
