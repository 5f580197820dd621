"""A bot's "Messages sent" page: the e-mails and SMS of its `email` and `sms` steps with the status and reason the
outbox wrote on each row, newest first, "Only problems", keyset paging, other bots' rows never, escaped."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from designer_client import Designer

from runtime.extensions import db
from runtime.management import settings
from runtime.management.models import OutgoingEmail, OutgoingSms
from runtime.steps.base import Input
from runtime.turns.turn import handle, start_conversation

SCRIPT = "<script>alert(1)</script>"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


def shown(page: str) -> list[tuple[str, int]]:
    """(kind, row id) of each message on the page, in its order."""
    return [(kind, int(row_id)) for kind, row_id in re.findall(r'data-kind="(\w+)" data-id="(\d+)"', page)]


def cells(page: str) -> list[dict]:
    """What each message row says: its status, its reason and its text cell, unescaped."""
    found = []
    for row in re.findall(r'<tr data-testid="message".*?</tr>', page, re.S):
        reason = re.search(r'data-testid="reason">(.*?)</div>', row, re.S)
        found.append({"status": re.search(r'data-testid="status">(\w+)<', row)[1],
                      "reason": html.unescape(reason[1]) if reason else None,
                      "text": html.unescape(re.search(r'data-testid="text">(.*?)</td>', row, re.S)[1])})
    return found


def talk(app, user: str, name: str) -> None:
    """A conversation of the outbox bot through its e-mail and SMS steps."""
    with app.app_context():
        conversation, _ = start_conversation("outbox", user, "webchat", data={
            "name": name, "email": "eva@example.com", "phone": "+420777000111"})
        handle(conversation.id, Input.message("yes please"))
        db.session.remove()


@pytest.fixture
def app_config():
    """The local Twilio-like API (pytest-httpserver on loopback) is allow-listed for the guarded session."""
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


MESSAGES = "/2010-04-01/Accounts/AC123/Messages.json"


def test_messages_sent_through_the_outbox_show_their_status_and_reason_newest_first(app, designer, bots, jobs,
                                                                                    clock, httpserver):
    """The rows are made the real way: an unreachable SMTP server (retried), an SMS the provider refuses (failed),
    then one it takes (sent), for a user whose name, in the subject, is a script (shown as text)."""
    bots.load("outbox")
    with app.app_context():
        settings.set_smtp("outbox", host="127.0.0.1", port=1, security="none", sender="bot@shop.example")
        settings.set_sms("outbox", account="AC123", token="tw-secret", sender="+15005550006",
                         base_url=httpserver.url_for("/"))
    httpserver.expect_oneshot_request(MESSAGES, method="POST").respond_with_json(
        {"code": 21211, "message": "The 'To' number +420777000111 is not a valid phone number."}, status=400)
    talk(app, "u-eva", "Eva")
    jobs.drain()
    clock.move_to(clock.later(seconds=2))  # before the e-mail's first retry
    httpserver.expect_oneshot_request(MESSAGES, method="POST").respond_with_json(
        {"sid": "SM0001", "status": "queued"}, status=201)
    talk(app, "u-otto", SCRIPT)
    jobs.drain()

    page = designer.client.get("/designer/bots/outbox/messages")
    assert page.status_code == 200
    rows = cells(page.text)
    assert len(rows) == 4
    newer, older = rows[:2], rows[2:]  # the second conversation's two rows before the first's
    assert {(r["status"], r["text"]) for r in newer} == {
        ("queued", f"Your offer, {SCRIPT}"), ("sent", f"Your offer is in your inbox: https://example.com/offer/{SCRIPT}")}
    assert {(r["status"], r["text"]) for r in older} == {
        ("queued", "Your offer, Eva"), ("failed", "Your offer is in your inbox: https://example.com/offer/Eva")}
    reasons = {r["status"]: r["reason"] for r in older}
    assert "Could not connect to an SMTP server" in reasons["queued"] and \
        reasons["queued"].endswith("Arbor tries again later.")
    assert reasons["failed"].startswith("The SMS provider refused the message (21211: ") and \
        reasons["failed"].endswith("check the recipient's phone number.")
    assert SCRIPT not in page.text and html.escape(SCRIPT) in page.text
    assert page.text.count('data-testid="step"') == 4 and \
        '/designer/bots/outbox/edit?dialog=welcome&amp;step=ob-w3' in page.text
    assert "eva@example.com" in page.text and "+420777000111" in page.text
    assert "Dear Eva" not in page.text and "tw-secret" not in page.text  # never the e-mail's body nor the token

    problems = cells(designer.client.get("/designer/bots/outbox/messages?problems=1").text)
    assert [(r["status"], r["reason"]) for r in problems] == [(r["status"], r["reason"]) for r in rows if r["reason"]]
    assert {r["status"] for r in problems} == {"queued", "failed"}  # to be tried again, or failed


def add(app, rows: list) -> list[tuple[str, int]]:
    """Model rows written directly; (kind, id) of each."""
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()
        made = [("email" if isinstance(row, OutgoingEmail) else "sms", row.id) for row in rows]
        db.session.remove()
    return made


def email(bot: str, minute: int, status: str = "sent", error: str | None = None,
          subject: str = "Hello") -> OutgoingEmail:
    return OutgoingEmail(bot_id=bot, user_id="u-1", timestamp=START + timedelta(minutes=minute), step_id="ob-w3",
                         sender="bot@shop.example", recipients=["eva@example.com"], subject=subject,
                         body="secret body", status=status, error=error)


def sms(bot: str, minute: int, status: str = "sent", error: str | None = None) -> OutgoingSms:
    return OutgoingSms(bot_id=bot, user_id="u-1", timestamp=START + timedelta(minutes=minute), step_id="ob-w4",
                       channel="webchat", provider="twilio", recipients=["+420777000111"], message="Hi there",
                       status=status, error=error)


def pages(designer: Designer, path: str) -> list[list[tuple[str, int]]]:
    """Every page from `path`, following the "Older" link."""
    found = []
    while path:
        page = designer.client.get(path)
        assert page.status_code == 200
        found.append(shown(page.text))
        older = re.search(r'data-testid="older" href="([^"]+)"', page.text)
        path = html.unescape(older[1]) if older else None
    return found


def test_older_pages_by_keyset_newest_first_and_only_this_bots_rows(app, designer, bots):
    bots.load("outbox")
    # 60 e-mails on even minutes and 45 SMS on odd ones, interleaved in time but written one table after the other;
    # another bot's rows in between
    mine = add(app, [email("outbox", 2 * n) for n in range(60)] + [email("other", 500)] +
               [sms("outbox", 2 * n + 1) for n in range(45)] + [sms("other", 501)])
    theirs = [mine.pop(60), mine.pop()]
    minute = {made: (2 * n if made[0] == "email" else 2 * (n - 60) + 1) for n, made in enumerate(mine)}
    newest_first = sorted(mine, key=minute.get, reverse=True)

    found = pages(designer, "/designer/bots/outbox/messages")
    assert [len(page) for page in found] == [50, 50, 5]
    assert [made for page in found for made in page] == newest_first
    assert not set(theirs) & {made for page in found for made in page}
    assert "other" not in designer.client.get("/designer/bots/outbox/messages").text


def test_only_problems_are_failed_ones_retried_ones_and_sent_ones_with_a_note(app, designer, bots):
    bots.load("outbox")
    partly = "Sent to 1 of 2 recipients; the mail server refused nobody@example.com (550 5.1.1 no such user)."
    refused = "The SMS provider refused the message (21211: not a number); check the recipient's phone number."
    made = add(app, [email("outbox", 1, "sent", partly), email("outbox", 2, "sent", subject="Long " * 30),
                     sms("outbox", 3, "failed", refused),
                     sms("outbox", 4, "queued", "Nothing answered. Arbor tries again later."),
                     email("other", 5, "failed", "elsewhere")])
    page = designer.client.get("/designer/bots/outbox/messages?problems=1").text
    assert shown(page) == [made[3], made[2], made[0]]
    assert [(r["status"], r["reason"]) for r in cells(page)] == [
        ("queued", "Nothing answered. Arbor tries again later."), ("failed", refused), ("sent", partly)]
    assert 'class="pill error"' in page and 'class="pill warning"' in page

    everything = designer.client.get("/designer/bots/outbox/messages").text
    assert shown(everything) == [made[3], made[2], made[1], made[0]]
    assert cells(everything)[2]["text"] == ("Long " * 16)[:79] + "…"  # the start of a long subject


def test_nothing_sent_yet_and_bad_keysets(app, designer, bots):
    bots.load("outbox")
    page = designer.client.get("/designer/bots/outbox/messages")
    assert page.status_code == 200 and "No e-mails or SMS sent yet." in page.text
    assert designer.client.get("/designer/bots/outbox/messages?email=x&sms=-").status_code == 200
    developers = designer.client.get("/designer/bots/outbox/developers").text
    assert 'href="/designer/bots/outbox/messages" data-testid="messages-link"' in developers
    editor = designer.client.get("/designer/bots/outbox/edit").text
    assert 'href="/designer/bots/outbox/messages">Messages sent' in editor  # the Results menu


def test_an_editor_without_the_bot_is_told_there_is_no_such_bot(app, designer, bots):
    bots.load("outbox")
    add(app, [email("outbox", 1, "failed", "The mail server refused the message.")])
    eva = Designer(app, app.test_client()).sign_in("eva@example.com", "eva's pass", role="editor")
    page = eva.client.get("/designer/bots/outbox/messages")
    assert page.status_code == 404 and "There is no bot" in page.text and "refused" not in page.text
    assert eva.client.get("/designer/bots/outbox/users").status_code == 404  # as the bot's other pages answer
