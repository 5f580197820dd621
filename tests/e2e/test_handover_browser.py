"""Human handover in two browsers: a visitor in the widget on the demo page asks the support bot for a person,
an agent in the agent console sees the conversation arrive, accepts, reads and replies; the visitor sees who
joined and the replies, answers, and gets the bot back when the agent closes. The transcript keeps it all."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import bot_access, canned
from runtime.store.accounts import create_user
from runtime.store.models import HandoverSession
from runtime.testing.playwright_plugin import Webchat
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation
from tests.e2e.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.e2e
SHOTS = Path(tempfile.gettempdir())
CANNED = "Thanks for waiting, I am on it."


@pytest.fixture
def agent(live, browser: Browser):
    """Alice, an agent given the support bot, signed in to the console in a browser context of her own."""
    email = f"alice+{uuid.uuid4().hex[:6]}@example.com"  # shown to visitors as "Alice"
    with live.app.app_context():
        create_user(email, PASSWORD, "agent")
        bot_access.grant("support", email)
        if CANNED not in canned.listed("support"):
            canned.add("support", CANNED)
        db.session.remove()
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live.url, email)
    expect(page.get_by_role("heading", name="Agent console")).to_be_visible()
    yield page
    context.close()
    assert not errors, errors


def handover_of(live) -> HandoverSession:
    """The support bot's newest handover session."""
    with live.app.app_context():
        query = select(HandoverSession).where(HandoverSession.bot_id == "support")
        session = db.session.scalars(query.order_by(HandoverSession.created_at.desc())).first()
        db.session.expunge_all()
        db.session.remove()
    return session


def test_a_visitor_is_handed_to_an_agent_who_replies_and_gives_them_back_to_the_bot(live, page: Page, agent: Page):
    queue_rows = agent.get_by_test_id("handover")
    shown_before = queue_rows.count()

    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")
    chat.button("Talk to a person").click()
    chat.expect_bot("I am passing you to a person.")
    chat.say("My parcel is <b>late</b>")
    expect(chat.part("arbor-typing")).to_be_hidden()  # people answer next: no dots for the bot meanwhile
    session = handover_of(live)
    assert session.status == "waiting"

    # The queue shows the conversation without a reload; Alice accepts it.
    row = agent.locator(f'[data-session="{session.id}"]')
    expect(row).to_be_visible()
    expect(queue_rows).to_have_count(shown_before + 1)
    expect(row).to_contain_text("Support desk")
    expect(row).to_contain_text("support")
    agent.screenshot(path=SHOTS / "arbor-agent-queue.png")
    # By keyboard: the focus stays on Accept while the queue changes (another visitor asks for a person).
    row.get_by_role("button", name="Accept").focus()
    with live.app.app_context():
        other, _ = start_conversation("support", f"other-{uuid.uuid4().hex[:6]}", "webchat")
        handle(other.id, Input.message("Talk to a person"))
        db.session.remove()
    expect(queue_rows).to_have_count(shown_before + 2)
    expect(agent.locator(f"#accept-{session.id}")).to_be_focused()
    agent.keyboard.press("Enter")
    transcript_box = agent.get_by_test_id("transcript")
    expect(transcript_box.locator("[data-kind=user] .bubble").last).to_have_text("My parcel is <b>late</b>")  # as text
    expect(transcript_box.locator("[data-kind=bot]").filter(has_text="How can I help?")).to_be_visible()
    expect(transcript_box.locator("[data-notice=agent-joined] span")).to_have_text("Alice joined the conversation.")

    # The visitor sees who joined, then Alice's reply with her name above it.
    expect(chat.part("arbor-notice").last).to_have_text("Alice joined the conversation.")
    expect(chat.part("arbor-notice").last).to_have_attribute("data-notice", "agent-joined")
    agent.get_by_label("Your reply").fill("Hello, I am Alice. Let me look.")
    agent.get_by_label("Your reply").press("Enter")
    reply = chat.expect_bot("Hello, I am Alice. Let me look.")
    expect(reply.get_by_test_id("arbor-agent")).to_have_text("Alice")
    expect(agent.get_by_label("Your reply")).to_have_value("")
    expect(transcript_box.locator("[data-kind=agent]").last).to_contain_text("Hello, I am Alice. Let me look.")

    # The visitor answers; Alice sees it without a reload and answers with a canned answer.
    chat.say("It is order AB1234")
    expect(chat.part("arbor-typing")).to_be_hidden()
    expect(transcript_box.locator("[data-kind=user]").last).to_contain_text("It is order AB1234")
    agent.get_by_test_id("canned").get_by_role("button", name=CANNED).click()
    chat.expect_bot(CANNED)
    agent.screenshot(path=SHOTS / "arbor-agent-console.png", full_page=True)
    page.screenshot(path=SHOTS / "arbor-agent-widget.png")

    # Alice closes: the visitor is told and the bot answers again.
    agent.once("dialog", lambda dialog: dialog.accept())
    # The page after closing says so in a toast, which goes after 6 s: read from the page as the server sent it,
    # as a busy machine can take longer than that to get here.
    page_after = f"/designer/agents/{session.id}"
    with agent.expect_response(lambda r: r.request.method == "GET" and r.url.endswith(page_after)) as after:
        agent.get_by_test_id("close-handover").click()
    assert "The bot has taken over the conversation again." in after.value.text()
    expect(agent.get_by_test_id("session-status")).to_contain_text("Closed by Alice")
    expect(chat.part("arbor-notice").last).to_have_text("Alice left the conversation.")
    chat.expect_bot("The bot here again. Anything else?")
    chat.expect_bot("How can I help?")
    page.screenshot(path=SHOTS / "arbor-agent-widget-closed.png")
    chat.button("Track an order").last.click()
    chat.expect_bot("What is your order number?")

    with live.app.app_context():
        said = [(a["from"]["role"], (a.get("channelData") or {}).get("arbor", {}).get("agent"), a["text"])
                for a in transcript(session.conversation_id) if a["type"] == "message"]
        db.session.remove()
    assert said[-13:] == [
        ("user", None, "Talk to a person"),
        ("bot", None, "I am passing you to a person. Someone will be with you shortly."),
        ("user", None, "My parcel is <b>late</b>"),
        ("bot", "Alice", "Alice joined the conversation."),
        ("bot", "Alice", "Hello, I am Alice. Let me look."),
        ("user", None, "It is order AB1234"),
        ("bot", "Alice", CANNED),
        ("bot", "Alice", "Alice left the conversation."),
        ("bot", None, "The bot here again. Anything else?"),
        ("bot", None, "Hello! I am the support bot."),
        ("bot", None, "How can I help?"),
        ("user", None, "Track an order"),
        ("bot", None, "What is your order number? (two letters and four digits, like AB1234)"),
    ]


def test_the_agent_sees_the_visitor_typing(live, page: Page, agent: Page):
    """The widget tells while people have the chat (never the bot); it goes when the message comes."""
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")
    chat.button("Talk to a person").click()
    chat.expect_bot("I am passing you to a person.")
    session = handover_of(live)
    agent.locator(f"#accept-{session.id}").click()
    expect(chat.part("arbor-notice").last).to_have_text("Alice joined the conversation.")
    # the console hears the conversation once its event stream is open: typing before that reaches nobody
    expect(agent.locator("[data-live][data-listening=true]")).to_have_count(1)
    chat.part("arbor-input").press_sequentially("It is")
    typing = agent.get_by_test_id("visitor-typing")
    expect(typing).to_be_visible()
    expect(typing).to_have_text("The visitor is typing…")
    agent.screenshot(path=SHOTS / "arbor-agent-typing.png", full_page=True)
    chat.part("arbor-input").fill("")
    chat.say("It is order AB1234")
    expect(agent.get_by_test_id("transcript").locator("[data-kind=user]").last).to_contain_text("It is order AB1234")
    expect(typing).to_be_hidden()


def test_an_agent_ticks_the_queues_they_answer_and_the_console_keeps_them(live, agent: Page):
    with live.app.app_context():  # two visitors ask for a person; the second's handover goes to billing
        opened = []
        for _ in range(2):
            conversation, _ = start_conversation("support", f"queue-{uuid.uuid4().hex[:6]}", "webchat")
            handle(conversation.id, Input.message("Talk to a person"))
            opened.append(db.session.scalars(select(HandoverSession).where(
                HandoverSession.conversation_id == conversation.id)).one())
        opened[1].queue = "billing"
        support, billing = (session.id for session in opened)
        db.session.commit()
        db.session.remove()
    agent.reload()
    ticks = agent.get_by_test_id("queue-filter")
    expect(agent.locator(f'[data-session="{support}"]')).to_be_visible()
    ticks.get_by_label("billing").check()  # htmx asks for the queue again; no reload
    expect(agent.locator(f'[data-session="{support}"]')).to_be_hidden()
    expect(agent.locator(f'[data-session="{billing}"]')).to_be_visible()
    agent.screenshot(path=SHOTS / "arbor-agent-queues.png")
    agent.reload()  # the pick is the agent's until they change it
    expect(ticks.get_by_label("billing")).to_be_checked()
    expect(agent.locator(f'[data-session="{support}"]')).to_be_hidden()
    ticks.get_by_label("billing").uncheck()
    expect(agent.locator(f'[data-session="{support}"]')).to_be_visible()


def test_the_console_is_told_of_news_instead_of_polling(live, agent: Page):
    fetched: list[str] = []
    agent.on("request", lambda request: fetched.append(request.url) if "/designer/agents/queue" in request.url
              else None)
    agent.wait_for_timeout(2500)  # longer than the 2 s the console used to poll at
    assert fetched == []  # idle: nothing asked for
    with live.app.app_context():
        conversation, _ = start_conversation("support", f"news-{uuid.uuid4().hex[:6]}", "webchat")
        handle(conversation.id, Input.message("Talk to a person"))
        db.session.remove()
    session = handover_of(live)
    expect(agent.locator(f'[data-session="{session.id}"]')).to_be_visible()  # told at once, not in 30 s
    assert fetched
