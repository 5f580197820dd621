"""The jobs that send what `email` and `sms` steps wrote to the outbox tables.

Each job takes the id of its row, sends it, and records the outcome on the row (the exports read these
rows). A failure is recorded and raised again, so RQ retries the job (`RETRY`); a row already sent is
not sent again, so a job that runs twice (a worker lost after sending) does not send twice.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from rq import Retry

from runtime import integrations
from runtime.extensions import db
from runtime.integrations.errors import IntegrationError
from runtime.management import settings as outbox_settings
from runtime.management.models import OutgoingEmail, OutgoingSms

RETRY = Retry(max=4, interval=[10, 60, 300, 1800])
TIMEOUT = 15  # seconds for one SMTP session or provider call


def send_email(email_id: int) -> str:
    """Send one logged e-mail through its bot's SMTP server."""
    return _attempt(OutgoingEmail, email_id, "smtp", lambda row, server: _deliver(server, _message(row, server)))


def send_sms(sms_id: int) -> str:
    """Send one logged text message to each of its numbers through the bot's provider (Twilio's Messages API)."""
    def post(row: OutgoingSms, provider: dict) -> None:
        row.provider_id = ",".join(_post_sms(provider, number, row.message) for number in row.recipients)[:100]

    return _attempt(OutgoingSms, sms_id, "sms", post)


def _attempt(model: type, row_id: int, kind: str, send: Callable[[Any, dict], object]) -> str:
    """One try at sending a logged row with the bot's `kind` settings: counted, and its failure recorded on the
    row and raised again, so RQ retries it; a row already sent (a retried job) is not sent twice."""
    row = db.session.get(model, row_id)
    if row is None or row.status == "sent":
        return "nothing to send"
    row.attempts += 1
    try:
        send(row, outbox_settings.settings(row.bot_id, kind))
    except Exception as e:  # noqa: BLE001 - recorded on the row, then raised again for RQ's retry
        _failed(row, f"{type(e).__name__}: {e}")
        raise
    row.status, row.error = "sent", None
    db.session.commit()
    return "sent"


def _message(row: OutgoingEmail, server: dict) -> EmailMessage:
    message = EmailMessage()
    message["From"] = server["from"]
    message["To"] = ", ".join(row.recipients)
    if row.reply_to:
        message["Reply-To"] = row.reply_to
    message["Subject"] = row.subject
    message["Message-ID"] = make_msgid(domain=server["from"].rpartition("@")[2] or None)
    message.set_content(row.body)
    return message


def _deliver(server: dict, message: EmailMessage) -> None:
    host, port, security = server["host"], int(server["port"]), server.get("security", "starttls")
    if security == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
    with smtp:
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if server.get("username"):
            smtp.login(server["username"], server.get("password") or "")
        smtp.send_message(message)


def _post_sms(provider: dict, number: str, text: str) -> str:
    """POST one message as Twilio's API takes it, through the guarded session (a provider URL on our own network
    is refused); the provider's message id, or an error with its reason."""
    url = f"{provider['baseUrl']}/2010-04-01/Accounts/{provider['account']}/Messages.json"
    basic = base64.b64encode(f"{provider['account']}:{provider.get('token') or ''}".encode()).decode()
    response = integrations.session().request(
        "POST", url, data={"To": number, "From": provider["from"], "Body": text},
        headers={"Authorization": f"Basic {basic}"}, timeout=TIMEOUT)
    try:
        answer = response.json()
    except IntegrationError:
        answer = {}
    if response.status >= 400:
        reason = answer.get("message") if isinstance(answer, dict) else None
        raise RuntimeError(f"the SMS provider answered {response.status}: {reason or response.text[:200]}")
    return str(answer.get("sid", "")) if isinstance(answer, dict) else ""


def _failed(row: OutgoingEmail | OutgoingSms, error: str) -> None:
    db.session.rollback()
    row = db.session.get(type(row), row.id)
    row.attempts, row.status, row.error = row.attempts + 1, "failed", error[:2000]
    db.session.commit()
