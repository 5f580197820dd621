"""What feeds the exports: clear-data snapshots, e-mails through a real SMTP server, SMS through a local
Twilio-like API, and link buttons through the tracking redirect."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from directline_client import Chat, secret_of, texts
from golden import load_doc
from jobs import Jobs
from management import make_key
from rq.job import Job
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import create_app
from runtime.extensions import db
from runtime.jobs import connection, queue_names
from runtime.management import settings
from runtime.management.models import OutgoingEmail, OutgoingSms
from runtime.messaging import outbox as messaging_outbox
from runtime.steps.base import Input
from runtime.store.bots import get_bot, import_bot
from runtime.store.models import BotUser
from runtime.turns import outbox
from runtime.turns.outbox import PendingEffect
from runtime.turns.turn import handle, start_conversation
from tests.smtp_server import serving

EVA = {"name": "Eva", "email": "eva@example.com", "phone": "+420777000111", "language": "cs"}


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def app_config():
    """The local Twilio-like API (pytest-httpserver on loopback) is allow-listed for the guarded session."""
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    with serving(inbox) as controller:
        yield controller, inbox


@pytest.fixture
def key(app, bots):
    bots.load("outbox")
    return make_key(app, "outbox")


def export(client, key: str, name: str) -> list[dict]:
    response = client.get(f"/b/outbox/api/management/export/{name}?code={key}")
    assert response.status_code == 200, response.json
    return response.json


def run_through(app) -> str:
    """Eva's conversation up to the end: e-mail, SMS and clear-data steps run."""
    with app.app_context():
        conversation, _ = start_conversation("outbox", "u-eva", "webchat", data=EVA)
        said = handle(conversation.id, Input.message("yes please"))
        assert [a["text"] for a in said] == ["Sent. I forgot everything else, friend."]
        return conversation.id


def test_clear_data_keeps_a_snapshot_in_the_export(app, client, key):
    run_through(app)
    with app.app_context():
        assert db.session.get(BotUser, ("outbox", "u-eva")).data == {"language": "cs"}
    (snapshot,) = export(client, key, "userDataSnapshot")
    assert snapshot["userId"] == "u-eva" and snapshot["timestamp"]
    assert {k: snapshot[k] for k in ("name", "email", "phone", "language", "answer")} == {**EVA, "answer": "yes please"}
    users = export(client, key, "userData")
    assert [(u["userId"], u["language"]) for u in users] == [("u-eva", "cs")] and "email" not in users[0]


def first_try_fails(app, jobs) -> None:
    """The conversation's e-mail is tried while the SMTP server is down (nothing on port 1): RQ schedules a retry."""
    with app.app_context():
        settings.set_smtp("outbox", host="127.0.0.1", port=1, security="none", sender="bot@shop.example")
    run_through(app)
    jobs.drain()


def smtp_up(controller) -> None:
    """The bot's SMTP server is the test's (in an app context)."""
    settings.set_smtp("outbox", host="127.0.0.1", port=controller.port, security="none", sender="bot@shop.example")


def test_an_email_reaches_a_real_smtp_server_and_the_export(app, client, key, smtp_server, jobs):
    controller, inbox = smtp_server
    with app.app_context():
        smtp_up(controller)
    run_through(app)
    assert inbox.messages == []  # sent by a job, not in the turn
    assert jobs.drain() == 1  # the e-mail; the bot has no SMS provider, so its SMS is logged as failed
    ((mail_from, rcpt_tos, message),) = inbox.messages
    assert mail_from == "bot@shop.example" and rcpt_tos == ["eva@example.com", "sales@example.com"]
    assert message["Subject"] == "Your offer, Eva" and message["Reply-To"] == "sales@example.com"
    assert message.get_payload(decode=True).decode().replace("\r\n", "\n").strip() == "Dear Eva,\nhere is your offer."
    (row,) = export(client, key, "outgoingEmail")
    assert {k: v for k, v in row.items() if k != "timestamp"} == {
        "userId": "u-eva", "body": "Dear Eva,\nhere is your offer.", "from": "bot@shop.example",
        "recipients": ["eva@example.com", "sales@example.com"], "replyTo": "sales@example.com", "stepId": "ob-w3",
        "subject": "Your offer, Eva"}
    with app.app_context():
        assert db.session.query(OutgoingEmail).one().status == "sent"


def test_a_failing_smtp_server_is_retried_and_recorded(app, key, smtp_server, jobs):
    controller, inbox = smtp_server
    first_try_fails(app, jobs)
    with app.app_context():
        row = db.session.query(OutgoingEmail).one()  # still owed: RQ tries again
        assert (row.status, row.attempts) == ("queued", 1) and "Could not connect to an SMTP server" in row.error
        smtp_up(controller)
    jobs.drain(until=_later(hours=1))  # the retry's back-off has passed
    assert len(inbox.messages) == 1
    with app.app_context():
        row = db.session.query(OutgoingEmail).one()
        assert (row.status, row.attempts, row.error) == ("sent", 2, None)


def test_sms_through_a_twilio_compatible_api(app, client, key, httpserver, jobs):
    httpserver.expect_request("/2010-04-01/Accounts/AC123/Messages.json", method="POST").respond_with_json(
        {"sid": "SM0001", "status": "queued"}, status=201)
    with app.app_context():
        settings.set_sms("outbox", account="AC123", token="tw-secret", sender="+15005550006",
                         base_url=httpserver.url_for("/"))
    run_through(app)
    jobs.drain()
    (request, _), = httpserver.log
    assert request.form.to_dict() == {"To": "+420777000111", "From": "+15005550006",
                                      "Body": "Your offer is in your inbox: https://example.com/offer/Eva"}
    assert request.authorization.username == "AC123" and request.authorization.password == "tw-secret"
    (row,) = export(client, key, "outgoingSms")
    assert {k: v for k, v in row.items() if k != "timestamp"} == {
        "userId": "u-eva", "channel": "webchat", "link": "https://example.com/offer/Eva",
        "message": "Your offer is in your inbox: https://example.com/offer/Eva", "provider": "twilio",
        "recipients": ["+420777000111"]}
    with app.app_context():
        assert db.session.query(OutgoingSms).one().provider_id == "SM0001"


def sms_provider(app, httpserver) -> None:
    """The bot's SMS provider is the test's Twilio-like API (pytest-httpserver)."""
    with app.app_context():
        settings.set_sms("outbox", account="AC123", token="tw-secret", sender="+15005550006",
                         base_url=httpserver.url_for("/"))


MESSAGES = "/2010-04-01/Accounts/AC123/Messages.json"
WHERE = "the bot's SMS provider settings (Developers > E-mail and SMS)"


@pytest.mark.parametrize("status, answer, reason", [
    (400, {"code": 21211, "message": "The 'To' number +420777000111 is not a valid phone number."},
     "The SMS provider refused the message (21211: The 'To' number +420777000111 is not a valid phone number); "
     "check the recipient's phone number."),
    (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"},
     "The SMS provider refused the message (21610: Attempt to send to unsubscribed recipient); the recipient has "
     "unsubscribed (replied STOP); they receive messages again once they text START."),
    (401, {"code": 20003, "message": "Authenticate"},
     f"The SMS provider refused the message (20003: Authenticate); check the account SID and auth token in {WHERE}."),
    (403, {"message": "Forbidden"},
     f"The SMS provider refused the message (HTTP 403: Forbidden); check the account SID and auth token in {WHERE}, "
     "and what the account may send."),
    (404, {"code": 20404, "message": "The requested resource was not found"},
     "The SMS provider refused the message (20404: The requested resource was not found); check the account SID "
     f"in {WHERE}."),
    (422, {"message": "Unprocessable"},
     "The SMS provider refused the message (HTTP 422: Unprocessable); check the recipient's phone number and the "
     "message."),
])
def test_an_sms_the_provider_refuses_for_good_fails_at_once_saying_what_to_change_and_is_never_swept(
        app, key, httpserver, jobs, clock, status, answer, reason):
    """A refusal no retry can change (a bad number, an unsubscribed one, bad credentials, a wrong account) is
    tried once: the row is failed at once with a sentence for the owner, no retry is scheduled, no sweep queues
    it again."""
    httpserver.expect_request(MESSAGES).respond_with_json(answer, status=status)
    sms_provider(app, httpserver)
    run_through(app)
    assert jobs.drain() == 1
    assert jobs.scheduled() == []  # no retry
    with app.app_context():
        row = db.session.query(OutgoingSms).one()
        assert (row.status, row.attempts, row.error) == ("failed", 1, reason)
        (given_up,) = jobs.failed()
        assert given_up.id == messaging_outbox.job_id(OutgoingSms, row.id)
    _never_swept(app, jobs, clock)
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("answer", [
    {"response_json": {"code": 20500, "message": "Internal Server Error"}, "status": 500},
    {"response_json": {"code": 20429, "message": "Too Many Requests"}, "status": 429},
])
def test_an_sms_the_provider_cannot_take_now_is_retried_and_sent(app, key, httpserver, jobs, answer):
    httpserver.expect_oneshot_request(MESSAGES).respond_with_json(**answer)
    httpserver.expect_request(MESSAGES).respond_with_json({"sid": "SM0002", "status": "queued"}, status=201)
    sms_provider(app, httpserver)
    run_through(app)
    jobs.drain()
    with app.app_context():
        row = db.session.query(OutgoingSms).one()
        assert (row.status, row.attempts) == ("queued", 1)
        assert row.error.startswith("The SMS provider ") and row.error.endswith(" Arbor tries again later.")
        assert f"({answer['response_json']['code']}: " in row.error
    assert len(jobs.scheduled()) == 1
    jobs.drain_all()
    with app.app_context():
        row = db.session.query(OutgoingSms).one()
        assert (row.status, row.attempts, row.error, row.provider_id) == ("sent", 2, None, "SM0002")
    assert len(httpserver.log) == 2


def test_an_sms_providers_retry_after_is_kept(app, key, httpserver, jobs, clock):
    """A 429 asking for ten minutes gets them, though RQ's first retry would come after 10 s."""
    httpserver.expect_oneshot_request(MESSAGES).respond_with_json({"code": 20429, "message": "Too Many Requests"},
                                                                  status=429, headers={"Retry-After": "600"})
    httpserver.expect_request(MESSAGES).respond_with_json({"sid": "SM0003"}, status=201)
    sms_provider(app, httpserver)
    run_through(app)
    tried = clock.now()  # the try happens in the drain, at this moment or later (the clock keeps running)
    jobs.drain()
    ((_, when),) = jobs.scheduled()
    assert when >= tried + timedelta(seconds=599)  # RQ keeps whole seconds
    assert jobs.drain(until=clock.later(seconds=300)) == 0  # not before
    jobs.drain_all()
    with app.app_context():
        assert db.session.query(OutgoingSms).one().status == "sent"


@pytest.mark.parametrize("app_config, base_url, reason", [
    ({}, "http://10.0.0.5", "10.0.0.5: a private address"),
    ({}, "http://169.254.169.254", "169.254.169.254: a link-local (cloud metadata) address"),
    ({}, None, "a loopback address"),  # the local API of the tests above, without its allow-list
])
def test_an_sms_provider_on_our_own_network_is_refused(app, key, httpserver, jobs, base_url, reason):
    httpserver.expect_request("/2010-04-01/Accounts/AC123/Messages.json").respond_with_json({"sid": "SM1"})
    with app.app_context():
        settings.set_sms("outbox", account="AC123", token="tw-secret", sender="+15005550006",
                         base_url=base_url or httpserver.url_for("/"))
    run_through(app)
    jobs.drain_all()
    with app.app_context():
        row = db.session.query(OutgoingSms).one()
    assert (row.status, row.attempts) == ("failed", 1)  # the address must change first: tried once
    assert reason in row.error and "OUTBOUND_ALLOW_HOSTS" in row.error
    assert row.error.endswith(f" Check the base URL in {WHERE}.")  # the bot's own setting to change
    assert httpserver.log == [] and "tw-secret" not in row.error


def test_steps_of_a_bot_with_no_outbox_set_up_are_logged_as_failed(app, client, key, caplog):
    run_through(app)
    with app.app_context():
        email, sms = db.session.query(OutgoingEmail).one(), db.session.query(OutgoingSms).one()
    assert (email.status, sms.status) == ("failed", "failed")
    assert "has no SMTP server set up" in email.error and "has no SMS provider set up" in sms.error
    assert len(export(client, key, "outgoingEmail")) == 1


def test_secrets_are_never_shown_back(app, runner, bots):
    bots.load("outbox")
    done = runner.invoke(args=["outbox", "smtp", "outbox", "--host", "smtp.example", "--username", "bot",
                               "--password-stdin", "--from", "bot@shop.example"], input="hunter2\n")
    assert done.exit_code == 0, done.output
    assert "hunter2" not in done.output and '"passwordSet": true' in done.output
    with app.app_context():
        assert "hunter2" not in str(get_bot("outbox").settings)
        assert settings.settings("outbox", "smtp")["password"] == "hunter2"
    again = runner.invoke(args=["outbox", "smtp", "outbox", "--host", "smtp.example", "--from", "bot@shop.example"])
    assert again.exit_code == 0 and '"passwordSet": true' in again.output  # kept when left out, same server
    moved = runner.invoke(args=["outbox", "smtp", "outbox", "--host", "smtp2.example", "--from", "bot@shop.example"])
    assert moved.exit_code == 0 and '"passwordSet": false' in moved.output  # bound to the server it was set for
    bad = runner.invoke(args=["outbox", "sms", "outbox", "--account", "AC1", "--from", "+1", "--base-url", "ftp://x"])
    assert bad.exit_code == 1 and "http(s) base URL" in bad.stderr


def test_link_buttons_go_through_the_tracking_redirect(app, client, key):
    chat = Chat.generate(client, secret_of(app, "outbox"), {"user": {"id": "dl_eva"}, "userData": {"name": "Eva"}})
    greeting = chat.poll()
    assert texts(greeting) == ["Hi Eva! Read our terms first.", "Shall I send you the offer?"]
    terms, fine = greeting[0]["suggestedActions"]["actions"]
    assert fine == {"type": "imBack", "title": "Fine", "value": "fine"}
    assert terms["type"] == "openUrl" and terms["value"].startswith("http://localhost/b/outbox/r/")
    link = terms["value"].removeprefix("http://localhost")
    followed: Response = client.get(link)
    assert followed.status_code == 302 and followed.headers["Location"] == "https://example.com/terms?lang=en"
    assert [(r["userId"], r["domain"], r["url"]) for r in export(client, key, "urlTracker")] == [
        ("dl_eva", "example.com", "https://example.com/terms?lang=en")]
    token = link.rsplit("/", 1)[1]
    assert client.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")).status_code == 404  # forged
    assert client.get(f"/b/other-bot/r/{token}").status_code == 404  # another bot's path
    assert client.get("/b/outbox/r/https%3A%2F%2Fevil.example").status_code == 404


def _later(hours: int) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_a_queue_that_cannot_be_reached_leaves_the_email_owed_and_the_relay_sends_it_once(
        database, tmp_path, redis_url, smtp_server, clock):
    """Redis down: the user still gets the bot's answer and the e-mail stays owed in the turns' outbox, written
    with the turn; once Redis is back the relay hands it to a worker, and it is sent once however often it is
    carried out again."""
    config = {"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "test", **database,
              "OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}
    down = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    with down.app_context():
        import_bot(load_doc("outbox"), publish=True)
        settings.set_smtp("outbox", host="127.0.0.1", port=smtp_server[0].port, security="none",
                          sender="bot@shop.example")
    run_through(down)
    with down.app_context():
        assert db.session.query(OutgoingEmail).count() == 0
        owed = db.session.scalars(select(PendingEffect)).all()
        assert [row.handler for row in owed] == ["runtime.messaging.effects.email"]
        db.engine.dispose()
    up = create_app({**config, "REDIS_URL": redis_url, "ARBOR_REDIS_PREFIX": f"t{uuid.uuid4().hex[:12]}:"})
    worker = Jobs(up, clock)
    try:
        with up.app_context():
            assert outbox.relay() == 0  # within its grace the turn's own process may still carry it out
        clock.move_to(clock.later(seconds=outbox.GRACE.total_seconds() + 1))
        with up.app_context():
            assert outbox.relay() == 1
        worker.drain()
        with up.app_context():
            assert [row.status for row in db.session.query(OutgoingEmail)] == ["sent"]
            assert db.session.query(PendingEffect).count() == 0
            assert outbox.run(owed[0].id) is False  # delivered again (a relay that died before marking it)
            assert db.session.query(OutgoingEmail).count() == 1
        assert [message["Subject"] for _, _, message in smtp_server[1].messages] == [owed[0].effect["subject"]]
    finally:
        with up.app_context():
            db.engine.dispose()


def test_an_email_whose_job_redis_lost_is_queued_again_by_the_sweeper_and_sent_once(app, key, smtp_server, jobs,
                                                                                    clock):
    """Redis restarted without its data: the row stays queued, and the sweeper queues its job again once it is
    late, under the row's own job id (with the app's prefix); a job still waiting is not queued twice."""
    controller, inbox = smtp_server
    with app.app_context():
        smtp_up(controller)
    run_through(app)
    with app.app_context():
        row_id = db.session.query(OutgoingEmail).one().id
        job = messaging_outbox.job_id(OutgoingEmail, row_id)
        assert job == f"outgoing_emails-{row_id}-{app.config['ARBOR_REDIS_PREFIX'].encode().hex()}"
        clock.move_to(clock.later(seconds=messaging_outbox.LATE.total_seconds() + 1))
        assert messaging_outbox.sweep() == 0  # its job still waits in the queue
        for name in queue_names(app):
            connection(app).delete(f"rq:queue:{name}")  # what Redis lost
        Job.fetch(job, connection=connection(app)).delete()
        assert messaging_outbox.sweep() == 1
        assert messaging_outbox.sweep() == 0  # queued once
    jobs.drain()
    with app.app_context():
        assert db.session.get(OutgoingEmail, row_id).status == "sent"
        assert messaging_outbox.sweep() == 0
    assert len(inbox.messages) == 1


class Refusing(Inbox):
    """An SMTP server that answers the first `times` recipients with `answer` (550: a mailbox that does not exist,
    for good; 451: try again later), then takes them."""

    def __init__(self, answer: str, times: int = 1_000):
        super().__init__()
        self.answer, self.times, self.refused = answer, times, 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if self.refused < self.times:
            self.refused += 1
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.mark.parametrize("answer, reason", [
    ("550 5.1.1 No such mailbox", "The mail server refused the recipient (eva@example.com: 550 5.1.1 No such "
                                  "mailbox; sales@example.com: 550 5.1.1 No such mailbox); check the e-mail address."),
    ("553 5.1.3 Bad recipient address syntax", "(eva@example.com: 553 5.1.3 Bad recipient address syntax;"),
    ("554 5.7.1 Relay access denied", "(eva@example.com: 554 5.7.1 Relay access denied;"),
])
def test_an_email_the_smtp_server_refuses_for_good_fails_at_once_and_is_never_swept(app, key, jobs, clock, answer,
                                                                                     reason):
    """An SMTP 5xx is tried once: the row is failed at once with the server's reason in a sentence (no class
    name), the job fails without a retry, and no sweep queues it again."""
    inbox = Refusing(answer)
    with serving(inbox) as controller:
        with app.app_context():
            smtp_up(controller)
        run_through(app)
        jobs.drain()
        assert jobs.scheduled() == []  # no retry
        with app.app_context():
            row = db.session.query(OutgoingEmail).one()
            assert (row.status, row.attempts) == ("failed", 1)
            assert reason in row.error and row.error.startswith("The mail server refused the recipient (")
            assert "SMTPRecipientsRefused" not in row.error and "Traceback" not in row.error
            (given_up,) = jobs.failed()
            assert given_up.id == messaging_outbox.job_id(OutgoingEmail, row.id)
        _never_swept(app, jobs, clock)
    assert inbox.messages == []


def test_an_email_the_smtp_server_defers_is_retried_and_sent(app, key, jobs):
    """An SMTP 4xx ("try again later") keeps the row queued with the server's words, and the retry sends it."""
    inbox = Refusing("451 4.7.1 Greylisted, try again later", times=2)  # both recipients of the first try
    with serving(inbox) as controller:
        with app.app_context():
            smtp_up(controller)
        run_through(app)
        jobs.drain()
        with app.app_context():
            row = db.session.query(OutgoingEmail).one()
            assert (row.status, row.attempts) == ("queued", 1)
            assert row.error == ("The mail server could not take the message for the recipient now "
                                 "(eva@example.com: 451 4.7.1 Greylisted, try again later; sales@example.com: 451 "
                                 "4.7.1 Greylisted, try again later). Arbor tries again later.")
        assert len(jobs.scheduled()) == 1
        jobs.drain_all()
    with app.app_context():
        row = db.session.query(OutgoingEmail).one()
        assert (row.status, row.attempts, row.error) == ("sent", 2, None)
    ((_, rcpt_tos, _),) = inbox.messages
    assert rcpt_tos == ["eva@example.com", "sales@example.com"]


@pytest.mark.parametrize("answer, note", [
    ("550 5.1.1 No such mailbox", "Sent to 1 of 2 recipients; the mail server refused eva@example.com (550 5.1.1 No "
                                  "such mailbox); check the address."),
    ("451 4.7.1 Greylisted, try again later", "Sent to 1 of 2 recipients; the mail server refused eva@example.com "
                                              "(451 4.7.1 Greylisted, try again later); the server asked to try "
                                              "later, which Arbor does not do: the others would get the message "
                                              "twice."),
])
def test_an_email_the_smtp_server_refuses_for_one_recipient_is_sent_to_the_others_noting_who_was_refused(
        app, key, jobs, clock, caplog, answer, note):
    """The server refuses the first recipient and takes the second: the message reaches the second, the row is
    `sent` with a note naming the refused address and the server's words, and nothing is tried again (not even
    for a 4xx: the second recipient would get the message twice)."""
    inbox = Refusing(answer, times=1)
    assert tried_once(app, jobs, clock, inbox) == ("sent", 1, note)
    assert note in caplog.text  # the worker's log says so too
    ((_, rcpt_tos, _),) = inbox.messages
    assert rcpt_tos == ["sales@example.com"]


class RudeGoodbye(Inbox):
    """An SMTP server that takes the message, then answers QUIT with something other than 221."""

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        return "421 4.3.2 Shutting down"


def test_an_email_the_server_took_is_sent_once_whatever_it_answers_to_quit(app, key, jobs, clock):
    """smtplib raises when QUIT gets anything but 221 (a 4xx then read as "try again later"): the message, taken
    already, would be sent again on the retry. The goodbye's answer no longer counts."""
    inbox = RudeGoodbye()
    assert tried_once(app, jobs, clock, inbox) == ("sent", 1, None)
    assert len(inbox.messages) == 1


def tried_once(app, jobs, clock, inbox: Inbox) -> tuple[str, int, str | None]:
    """Eva's e-mail sent through a server with `inbox` as its handler, tried once and never again (no retry, no
    failed job, nothing swept in the hour after); its row's status, attempts and error."""
    with serving(inbox) as controller:
        with app.app_context():
            smtp_up(controller)
        run_through(app)
        jobs.drain()
        assert jobs.scheduled() == [] and jobs.failed() == []
        with app.app_context():
            row = db.session.query(OutgoingEmail).one()
            outcome = (row.status, row.attempts, row.error)
        jobs.drain_all()
        _never_swept(app, jobs, clock)
    return outcome


def _never_swept(app, jobs, clock) -> None:
    """Sweeps every minute for an hour queue nothing, and nothing runs."""
    with app.app_context():
        for _ in range(60):
            clock.move_to(clock.later(minutes=1))
            assert messaging_outbox.sweep() == 0
    assert jobs.drain() == 0


def test_an_email_whose_retry_redis_lost_is_queued_again_by_the_sweeper_and_sent(app, key, smtp_server, jobs,
                                                                                 clock):
    """The first try failed (the server was down) and Redis lost the retry it scheduled: the row is still owed,
    so the sweeper queues it again once, and it is sent."""
    controller, inbox = smtp_server
    first_try_fails(app, jobs)
    with app.app_context():
        row_id = db.session.query(OutgoingEmail).one().id
        smtp_up(controller)
        ((job, _),) = jobs.scheduled()
        Job.fetch(job, connection=connection(app)).delete()  # what Redis lost, with its scheduled registry
        assert jobs.scheduled() == []
        clock.move_to(clock.later(seconds=messaging_outbox.LATE.total_seconds() + 1))
        assert messaging_outbox.sweep() == 1
        assert messaging_outbox.sweep() == 0  # queued once
    jobs.drain()
    with app.app_context():
        row = db.session.get(OutgoingEmail, row_id)
        assert (row.status, row.attempts, row.error) == ("sent", 2, None)
        assert messaging_outbox.sweep() == 0
    assert len(inbox.messages) == 1


def test_the_sweeper_leaves_a_platforms_replies_to_their_own_job(app, key, clock):
    """A platform's reply (Twilio's, no step) is sent by its turn's job with the connection's number: queued
    again as a step's SMS it would go out through the bot's SMS provider instead."""
    with app.app_context():
        db.session.add(OutgoingSms(bot_id="outbox", user_id="twilio:+420777000111", channel="platform",
                                   provider="twilio", recipients=["+420777000111"], message="Hi", attempts=0))
        db.session.commit()
        clock.move_to(clock.later(seconds=messaging_outbox.LATE.total_seconds() + 1))
        assert messaging_outbox.sweep() == 0
        assert db.session.query(OutgoingSms).one().status == "queued"
