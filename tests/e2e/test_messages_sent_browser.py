"""The "Messages sent" page in real Chromium: an editor opens it from the editor's Results menu, reads each e-mail
and SMS with its status and reason, narrows the list to the problems, and sees a subject holding a script as text.

The rows are made the product's way: two conversations of the `outbox` fixture bot reach its `email` and `sms`
steps, and RQ's worker runs the send jobs they queued against a real SMTP server (aiosmtpd), a closed port, and a
Twilio-like API (pytest-httpserver), all on loopback. Paging is left to the route tests: a page holds 50 rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiosmtpd.handlers import Sink
from jobs import InProcessWorker
from playwright.sync_api import Page, expect
from test_designer_browser import signed_in

from runtime.extensions import db
from runtime.jobs import connection, queue
from runtime.management import settings
from runtime.steps.base import Input
from runtime.store.bot_access import grant
from runtime.store.bots import import_bot
from runtime.turns.turn import handle, start_conversation
from tests.e2e.conftest import ROOT, Live, person
from tests.smtp_server import serving

pytestmark = pytest.mark.e2e
SCRIPT = "<script>window.pwned=1</script>"
MESSAGES = "/2010-04-01/Accounts/AC123/Messages.json"


@contextmanager
def smtp_server() -> Iterator[int]:
    """A real SMTP server on loopback that takes every message; its port."""
    with serving(Sink()) as controller:
        yield controller.port


def talk_and_send(live: Live, bot: str, name: str) -> None:
    """A conversation through the bot's e-mail and SMS steps, then the send jobs it queued, run by RQ's worker in
    this process (the live server runs none of its own): one burst over the default queue, where the send jobs go. A
    retry stays scheduled, as no scheduler moves it to the queue: the row stays queued with its reason."""
    with live.app.app_context():
        conversation, _ = start_conversation(bot, f"u-{uuid.uuid4().hex[:8]}", "webchat", data={
            "name": name, "email": "eva@example.com", "phone": "+420777000111"})
        handle(conversation.id, Input.message("yes please"))
        worker = InProcessWorker([queue("default")], connection=connection())
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
        db.session.remove()


@pytest.fixture
def outbox_bot(live: Live, httpserver) -> Iterator[tuple[str, str]]:
    """The outbox bot with four messages, and an editor given access: Eva's e-mail sent and SMS refused; then,
    with the mail server gone, the e-mail for a user named like a script queued for another try, its SMS sent."""
    doc = json.loads((ROOT / "tests" / "fixtures" / "bots" / "outbox.json").read_text())
    doc["id"] = bot = f"outbox-{uuid.uuid4().hex[:8]}"
    editor = person(live, "editor")
    with live.app.app_context():
        import_bot(doc, publish=True)
        grant(bot, editor)
        settings.set_sms(bot, account="AC123", token="tw-secret", sender="+15005550006",
                         base_url=httpserver.url_for("/"))
        db.session.remove()
    httpserver.expect_oneshot_request(MESSAGES, method="POST").respond_with_json(
        {"code": 21211, "message": "The 'To' number +420777000111 is not a valid phone number."}, status=400)
    with smtp_server() as port:
        with live.app.app_context():
            settings.set_smtp(bot, host="127.0.0.1", port=port, security="none", sender="bot@shop.example")
            db.session.remove()
        talk_and_send(live, bot, "Eva")
    with live.app.app_context():
        settings.set_smtp(bot, host="127.0.0.1", port=1, security="none", sender="bot@shop.example")
        db.session.remove()
    httpserver.expect_oneshot_request(MESSAGES, method="POST").respond_with_json(
        {"sid": "SM0001", "status": "queued"}, status=201)
    talk_and_send(live, bot, SCRIPT)
    httpserver.check_assertions()
    yield bot, editor


def row(page: Page, text: str):
    return page.get_by_test_id("message").filter(has=page.get_by_test_id("text").filter(has_text=text))


def test_messages_sent_show_status_and_reason_and_only_problems(live: Live, page: Page, outbox_bot, tmp_path):
    bot, editor = outbox_bot
    signed_in(page, live.url, editor)
    page.goto(f"{live.url}/designer/bots/{bot}/edit")
    page.get_by_role("button", name="Results").click()
    page.get_by_role("link", name="Messages sent").click()
    expect(page.get_by_role("heading", name="Messages sent")).to_be_visible()

    messages = page.get_by_test_id("message")
    expect(messages).to_have_count(4)
    sent_email, refused_sms = row(page, "Your offer, Eva"), row(page, "inbox: https://example.com/offer/Eva")
    queued_email, sent_sms = row(page, f"Your offer, {SCRIPT}"), row(page, "offer/<script>window.pwned=1</…")
    expect(sent_email.get_by_test_id("status")).to_have_text("sent")
    expect(sent_email.get_by_test_id("reason")).to_have_count(0)
    expect(refused_sms.get_by_test_id("status")).to_have_text("failed")
    expect(refused_sms.get_by_test_id("reason")).to_contain_text("The SMS provider refused the message (21211: ")
    expect(refused_sms.get_by_test_id("reason")).to_contain_text("check the recipient's phone number.")
    expect(queued_email.get_by_test_id("status")).to_have_text("queued")
    expect(queued_email.get_by_test_id("reason")).to_contain_text("Could not connect to an SMTP server")
    expect(queued_email.get_by_test_id("reason")).to_contain_text("Arbor tries again later.")
    expect(sent_sms.get_by_test_id("status")).to_have_text("sent")
    expect(queued_email.get_by_role("link", name="ob-w3")).to_be_visible()  # the step, in the editor
    # the script is the subject's text: shown, never run
    expect(queued_email.get_by_test_id("text")).to_have_text(f"Your offer, {SCRIPT}")
    assert page.evaluate("typeof window.pwned") == "undefined"
    expect(page.get_by_test_id("older")).to_have_count(0)  # four rows: one page
    page.screenshot(path=str(tmp_path / "messages.png"), full_page=True)

    page.get_by_test_id("only-problems").check()
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{live.url}/designer/bots/{bot}/messages?problems=1")
    expect(messages).to_have_count(2)
    expect(messages.get_by_test_id("status")).to_have_text(["queued", "failed"])  # newest first
    expect(queued_email).to_be_visible()
    expect(refused_sms).to_be_visible()
    expect(page.get_by_test_id("only-problems")).to_be_checked()
    assert page.evaluate("typeof window.pwned") == "undefined"
    page.screenshot(path=str(tmp_path / "problems.png"), full_page=True)
