"""The jobs that send what `email` and `sms` steps wrote to the outbox tables.

Each job takes the id of its row, sends it, and records the outcome on the row (the exports read these
rows). A failed try is recorded (its reason, the tries so far) and raised again. A refusal no retry can change
(`failures`: an SMS provider's 400, 401, 403, 404 or 422, an SMTP 5xx, settings to fix) fails the row at once and
the job with it. Any other failure (nothing answered, an SMS provider's 5xx, 408 or 429, an SMTP 4xx) is retried
by RQ (`RETRY`, no sooner than a Retry-After asks): the row stays `queued`, still owed, until the job's last try
fails too, and then it is `failed` for good with that try's reason. The reason is a sentence for the bot's owner
(`failures`), never a secret. An e-mail the server took for some recipients but refused for others is `sent`
(and not tried again: the others would get it twice), its `error` a note naming the refused addresses and the
server's words (`failures.partly_refused`). A row already sent is not sent again, so a job that runs twice (a
worker lost after sending) does not send twice. A worker lost while the server was taking the message sends it
again on the retry, with the same Message-ID. A job is queued by the after-commit handler that writes its row,
before that row is committed (so no process can die between the two): a row it cannot see yet is not an error
but a retry (`NotYetCommitted`).

The row, not Redis, says what is owed: a job lost with Redis's data (killed and started again without it) or
with a worker leaves its row `queued`, and `sweep` (every minute, from the worker) queues the job of a row still
queued after `LATE` again, under the row's own job id, unless that job is still waiting, running or retrying. A
row given up is `failed`, so the sweeper never queues it again.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from rq import Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from runtime import integrations
from runtime.extensions import db
from runtime.integrations.errors import IntegrationError
from runtime.integrations.http import Guard
from runtime.jobs import app_job_id, connection, enqueue, in_app, retries
from runtime.management import settings as outbox_settings
from runtime.management.models import OutgoingEmail, OutgoingSms
from runtime.messaging import failures
from runtime.messaging.failures import Failure, ProviderRefused, SmtpUnreachable
from runtime.store.models import utcnow

log = logging.getLogger(__name__)
RETRY = Retry(max=4, interval=[10, 60, 300, 1800])
LATE = timedelta(minutes=2)  # a row still queued this long after it was logged has lost its job: swept
BATCH = 500  # rows of each table one sweep queues at most
JOBS = {OutgoingEmail: "runtime.messaging.outbox.send_email", OutgoingSms: "runtime.messaging.outbox.send_sms"}
ALIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}


class NotYetCommitted(LookupError):
    """The row to send is not visible yet: the transaction that writes it has not committed (RQ retries)."""
TIMEOUT = 15  # seconds for one SMTP session or provider call


def queue_send(model: type, row_id: int) -> None:
    """Queue the job that sends a logged row (of `OutgoingEmail` or `OutgoingSms`), under the row's job id."""
    enqueue(JOBS[model], row_id, job_id=job_id(model, row_id), retry=RETRY)


def job_id(model: type, row_id: int) -> str:
    """The job id of a row's sending, the same every time it is queued, the app's own (`app_job_id`)."""
    return app_job_id(f"{model.__tablename__}-{row_id}")


@in_app
def sweep() -> int:
    """Queue again the rows still queued after `LATE` whose job is gone (lost with Redis or a worker); how many.
    Only the rows of `email` and `sms` steps (they name their step): a platform's replies (Twilio's) are sent by
    their turn's own job, not by `queue_send`'s."""
    queued = 0
    for model in JOBS:
        late = db.session.scalars(select(model.id).where(model.status == "queued", model.step_id.is_not(None),
                                                         model.timestamp < utcnow() - LATE)
                                  .order_by(model.id).limit(BATCH)).all()
        db.session.commit()
        for row_id in late:
            if not _alive(job_id(model, row_id)):
                queue_send(model, row_id)
                queued += 1
    return queued


def _alive(job: str) -> bool:
    """Whether the job is still to run (waiting, scheduled for its retry, or running)."""
    try:
        return Job.fetch(job, connection=connection()).get_status() in ALIVE
    except NoSuchJobError:
        return False


def send_email(email_id: int) -> str:
    """Send one logged e-mail through its bot's SMTP server; the recipients it refused (while it took the message
    for others) are noted on the row."""
    def deliver(row: OutgoingEmail, server: dict) -> str | None:
        refused = _deliver(server, _message(row, server))
        return failures.partly_refused(refused, len(row.recipients), _secrets(server)) if refused else None

    return _attempt(OutgoingEmail, email_id, "smtp", deliver)


def send_sms(sms_id: int) -> str:
    """Send one logged text message to each of its numbers through the bot's provider (Twilio's Messages API)."""
    def post(row: OutgoingSms, provider: dict) -> None:
        row.provider_id = ",".join(_post_sms(provider, number, row.message) for number in row.recipients)[:100]

    return _attempt(OutgoingSms, sms_id, "sms", post)


def _attempt(model: type, row_id: int, kind: str, send: Callable[[Any, dict], str | None],
             provider: dict | None = None) -> str:
    """One try at sending a logged row with the bot's `kind` settings (or `provider`'s, a platform connection's):
    counted, and its failure judged (`failures.judge`), recorded on the row (`_failed`) and raised again, for
    RQ's retry unless no retry can help; a row already sent (a retried job) is not sent twice. What `send`
    returns is a note on a row sent with a caveat (recipients refused), kept in its `error`."""
    row = db.session.get(model, row_id)
    if row is None:
        raise NotYetCommitted(f"{model.__tablename__} {row_id} is not committed (yet): retried")
    if row.status == "sent":
        return "nothing to send"
    row.attempts += 1
    given: dict = {}
    try:
        given = provider if provider is not None else outbox_settings.settings(row.bot_id, kind)
        note = send(row, given)
    except Exception as e:  # noqa: BLE001 - recorded on the row, then raised again for RQ's retry
        failure = failures.judge(e, kind, _secrets(given), given.get("address"))
        log.warning("%s %s of bot %s, try %d: %s", model.__tablename__, row_id, row.bot_id, row.attempts,
                    failure.reason, exc_info=failure.reason == failures.UNEXPECTED)
        _failed(row, failure)
        raise
    if note:
        log.warning("%s %s of bot %s, sent: %s", model.__tablename__, row_id, row.bot_id, note)
    row.status, row.error = "sent", note[:2000] if note else None
    db.session.commit()
    return "sent"


def _message(row: OutgoingEmail, server: dict) -> EmailMessage:
    message = EmailMessage()
    message["From"] = server["from"]
    message["To"] = ", ".join(row.recipients)
    if row.reply_to:
        message["Reply-To"] = row.reply_to
    message["Subject"] = row.subject
    # One Message-ID per row, the same on every try: a try whose worker died after the server took the message
    # sends it again, and mail clients show two copies with one Message-ID as one message.
    domain = server["from"].rpartition("@")[2] or "arbor.invalid"
    message["Message-ID"] = f"<outbox.{row.id}.{int(row.timestamp.timestamp() * 1_000_000)}@{domain}>"
    message.set_content(row.body)
    return message


class _GuardedSMTP(smtplib.SMTP):
    """smtplib's client whose socket comes from the outbound guard (the HTTP session's address judgement and
    allow-list), connected to the checked address itself."""

    guard: Guard

    def _get_socket(self, host, port, timeout):
        return self.guard.connect(host, port, timeout)


class _GuardedSMTPSSL(smtplib.SMTP_SSL):
    guard: Guard

    def _get_socket(self, host, port, timeout):
        return self.context.wrap_socket(self.guard.connect(host, port, timeout), server_hostname=self._host)


def _connect(host: str, port: int, security: str) -> smtplib.SMTP:
    """A session with the server past its greeting, through the guard; SmtpUnreachable whatever stopped it."""
    guard = integrations.session().guard
    if security == "ssl":
        smtp = type("SMTP", (_GuardedSMTPSSL,), {"guard": guard})(timeout=TIMEOUT,
                                                                   context=ssl.create_default_context())
    else:
        smtp = type("SMTP", (_GuardedSMTP,), {"guard": guard})(timeout=TIMEOUT)
    try:
        smtp.connect(host, port)
    except (OSError, smtplib.SMTPException, IntegrationError, UnicodeError, ValueError):
        smtp.close()
        raise SmtpUnreachable(host, port) from None
    return smtp


def _deliver(server: dict, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """Send `message`; the recipients the server refused while it took the message for others (smtplib's dict;
    all of them refused is SMTPRecipientsRefused)."""
    host, port, security = server["host"], int(server["port"]), server.get("security", "starttls")
    if server.get("username") and not server.get("password"):
        raise outbox_settings.SettingsIncomplete(
            "The SMTP server has a user name but no password: a password is cleared when the host or port changes; "
            "enter it again with the new server.")
    smtp = _connect(host, port, security)
    try:
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if server.get("username"):
            smtp.login(server["username"], server["password"])
        refused = smtp.send_message(message)
    except BaseException:
        smtp.close()
        raise
    _leave(smtp)
    return refused


def _leave(smtp: smtplib.SMTP) -> None:
    """Say goodbye to a server that has taken the message. Whatever it answers to QUIT (smtplib's `with` raises
    for anything but 221), or a connection that drops meanwhile, changes nothing: the message is sent, and
    judging it a failed try would send it again."""
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.quit()
    smtp.close()


def _post_sms(provider: dict, number: str, text: str, extra: dict | None = None) -> str:
    """POST one message as Twilio's API takes it (`extra`: more of its parameters, a StatusCallback, a MediaUrl),
    through the guarded session (a provider URL on our own network is refused: `provider["address"]` says what to
    change, the bot's base URL if absent); the provider's message id, or ProviderRefused with its answer (named as
    `provider["name"]`, "Twilio" for Twilio's own API)."""
    if not provider.get("token"):
        raise outbox_settings.SettingsIncomplete(
            "The SMS provider has no auth token: a token is cleared when the base URL changes; enter it again with "
            "the new address.")
    url = f"{provider['baseUrl']}/2010-04-01/Accounts/{provider['account']}/Messages.json"
    response = integrations.session().request(
        "POST", url, data={"To": number, "From": provider["from"], "Body": text, **(extra or {})},
        headers={"Authorization": f"Basic {_basic(provider)}"}, timeout=TIMEOUT)
    try:
        answer = response.json()
    except IntegrationError:
        answer = {}
    answer = answer if isinstance(answer, dict) else {}
    if response.status >= 400:
        code = answer.get("code")
        name = provider.get("name") or ("Twilio" if provider["baseUrl"] == outbox_settings.TWILIO
                                        else "The SMS provider")
        raise ProviderRefused(name, response.status, code if isinstance(code, int) else None,
                              " ".join(str(answer.get("message") or response.text[:200]).split()),
                              response.headers.get("Retry-After"),
                              provider.get("settings") or failures.SMS_SETTINGS)
    return str(answer.get("sid", ""))


def _basic(provider: dict) -> str:
    """The HTTP Basic credentials of an SMS provider's API: the account and its token."""
    return base64.b64encode(f"{provider['account']}:{provider.get('token') or ''}".encode()).decode()


def _secrets(given: dict) -> list[str]:
    """What no failure's reason may show: the settings' password or token, and the credentials made of them."""
    found = [given.get("password"), given.get("token")]
    return [secret for secret in found if secret] + ([_basic(given)] if given.get("token") else [])


def _failed(row: OutgoingEmail | OutgoingSms, failure: Failure) -> None:
    """Record a failed try with its reason: the row stays `queued` while RQ will try again (and the sweeper queues
    it again should Redis lose that retry), and is `failed` for good at once when no retry can help (the job is
    not retried either), else after the job's last try."""
    db.session.rollback()
    row = db.session.get(type(row), row.id)
    row.attempts, reason = row.attempts + 1, failure.reason
    if failure.permanent:
        retries.stop_retrying()
        row.status = "failed"
    elif _last_try():
        row.status, reason = "failed", f"{reason} Arbor gave up after {row.attempts} tries."
    else:
        retries.not_before(failure.retry_after)
        row.status, reason = "queued", f"{reason} Arbor tries again later."
    row.error = reason[:2000]
    db.session.commit()


def _last_try() -> bool:
    """Whether RQ gives the running job up if it fails now (no retries left, or no job at all: a direct call)."""
    job = get_current_job()
    return job is None or not job.retries_left
