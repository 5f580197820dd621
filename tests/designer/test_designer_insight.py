"""The designer's QA and insight pages (issue 9) through the Flask test client: conversation tests, the
publish gate, analytics on the tree, the Insight page with its CSV downloads, learning from misses."""

from __future__ import annotations

import copy
import csv
import io
import re
from datetime import UTC, datetime

import pytest
from designer_client import Designer
from golden import load_doc

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import bot_access
from runtime.store import bots as store
from runtime.turns.turn import handle, start_conversation

# Counts go by day: the clock stands at noon of a fixed day, so no run sees the date change under it.
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)
TODAY = NOON.date().isoformat()
CLOCK_START = NOON
pytestmark = pytest.mark.usefixtures("clock")
PASSING = "name: Greets\nsteps:\n  - bot: Hello! I am the support bot.\n  - bot: How can I help?\n"


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


def chat(app, bot: str, user: str, *said: str) -> str:
    with app.app_context():
        conversation_id = start_conversation(bot, user, "webchat")[0].id
        for text in said:
            handle(conversation_id, Input.message(text))
        db.session.remove()
    return conversation_id


@pytest.fixture
def leads(app, bots):
    bots.load("lead-capture")
    chat(app, "lead-capture", "eva", "Book a demo", "Eva", "eva@example.com", "12")  # reached the end
    chat(app, "lead-capture", "adam", "Book a demo", "Adam")  # stopped at the e-mail question
    chat(app, "lead-capture", "zoe", "pizza", "<script>alert(1)</script>")  # stopped at the first choice


def table(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


# --- conversation tests --------------------------------------------------------------------------

def test_a_test_is_written_run_green_then_red_and_deleted(designer, bots):
    bots.load("support")
    page = designer.client.get("/designer/bots/support/tests")
    assert page.status_code == 200 and "No tests yet" in page.text
    saved = designer.post("/designer/bots/support/tests/edit", {"name": "Greets", "original": "", "yaml": PASSING})
    assert saved.status_code == 302
    green = designer.post("/designer/bots/support/tests/run")
    assert green.status_code == 200 and 'data-result="passed"' in green.text and "1 passed, 0 failed" in green.text
    edited = copy.deepcopy(load_doc("support"))
    edited["dialogs"][0]["steps"][0]["else"][0]["text"] = "Hi there."  # the greeting of a nameless visitor
    with designer.app.app_context():
        store.import_bot(edited)
    red = designer.post("/designer/bots/support/tests/run")  # the draft is what runs
    assert 'data-result="failed"' in red.text and "0 passed, 1 failed" in red.text
    difference = re.search(r'data-testid="test-difference">(.*?)</div>', red.text, re.S).group(1)
    assert difference.startswith("Line 3:") and "Hello! I am the support bot." in difference
    assert "Hi there." in difference
    gone = designer.post("/designer/bots/support/tests/delete", {"name": "Greets"})
    assert gone.status_code == 302
    assert "<strong>Greets</strong>" not in designer.client.get("/designer/bots/support/tests").text


def test_a_test_with_a_syntax_error_is_shown_with_line_and_column_and_not_saved(designer, bots):
    bots.load("support")
    broken = "name: Broken\nsteps:\n  - say: hi\n   - bot: [unclosed\n"
    answer = designer.post("/designer/bots/support/tests/edit", {"name": "Broken", "original": "", "yaml": broken})
    assert answer.status_code == 422
    mistake = re.search(r'data-testid="test-mistake">(.*?)</p>', answer.text).group(1)
    assert re.match(r"Line 4, column \d+: ", mistake)
    assert "[unclosed" in answer.text  # the text is kept for fixing
    assert "<strong>Broken</strong>" not in designer.client.get("/designer/bots/support/tests").text


def test_renaming_a_test_replaces_the_old_one(designer, bots):
    bots.load("support")
    designer.post("/designer/bots/support/tests/edit", {"name": "Greets", "original": "", "yaml": PASSING})
    assert designer.client.get("/designer/bots/support/tests/edit?name=Greets").status_code == 200
    designer.post("/designer/bots/support/tests/edit", {"name": "Says hello", "original": "Greets", "yaml": PASSING})
    page = designer.client.get("/designer/bots/support/tests").text
    assert "Says hello" in page and "<strong>Greets</strong>" not in page
    assert designer.client.get("/designer/bots/support/tests/edit?name=Greets").status_code == 404


def test_a_preview_conversation_is_saved_as_a_test_that_passes(designer, bots):
    bots.load("support")
    started = designer.client.post("/designer/bots/support/preview", headers={"X-CSRFToken": designer.token}).json
    conversation = started["conversationId"]
    with designer.app.app_context():
        handle(conversation, Input.message("Close the chat"))
        db.session.remove()
    state = designer.client.get(f"/designer/bots/support/preview/{conversation}")
    assert 'data-testid="save-as-test"' in state.text and conversation in state.text
    saved = designer.client.post("/designer/bots/support/tests/record", data={"conversation": conversation},
                                 headers={"HX-Request": "true", "HX-Prompt": "Closes", "X-CSRFToken": designer.token})
    assert saved.status_code == 200 and saved.headers["HX-Redirect"].endswith("/tests/edit?name=Closes")
    editor = designer.client.get(saved.headers["HX-Redirect"]).text
    assert "click: Close the chat" in editor and "sent: close-chat" in editor
    ran = designer.post("/designer/bots/support/tests/run").text
    assert "1 passed, 0 failed" in ran
    nameless = designer.client.post("/designer/bots/support/tests/record", data={"conversation": conversation},
                                    headers={"HX-Request": "true", "HX-Prompt": "", "X-CSRFToken": designer.token})
    assert nameless.status_code == 422 and "needs a name" in nameless.text
    gone = designer.post("/designer/bots/support/tests/record", {"conversation": "nope", "name": "x"})
    assert gone.status_code == 404


def test_publishing_can_require_the_tests_and_the_refusal_names_the_failing_test(designer, bots):
    bots.load("support")
    designer.post("/designer/bots/support/tests/edit", {"name": "Greets", "original": "", "yaml": PASSING})
    switched = designer.post("/designer/bots/support/tests/require",
                             {"required": "1", "next": "/designer/bots/support/settings#tests"})
    assert switched.location == "/designer/bots/support/settings#tests"
    settings = designer.client.get("/designer/bots/support/settings").text
    assert re.search(r'name="required" value="1" checked', settings)
    edited = copy.deepcopy(load_doc("support"))
    edited["dialogs"][0]["steps"][0]["else"][0]["text"] = "Hi there."  # the greeting of a nameless visitor
    with designer.app.app_context():
        store.import_bot(edited)
    refused = designer.post("/designer/bots/support/publish", {"note": "new greeting"})
    assert refused.location == "/designer/bots/support/tests"
    page = designer.client.get("/designer/bots/support/tests").text
    assert "Not published" in page and "first &#39;Greets&#39; (line 3)" in page
    assert designer.published("support") == 1
    designer.post("/designer/bots/support/tests/require", {"required": "0"})
    assert designer.post("/designer/bots/support/publish", {"note": "anyway"}).status_code == 302
    assert designer.published("support") == 2


# --- analytics -----------------------------------------------------------------------------------

def reach_of(page: str, step: str) -> str:
    node = page.split(f'id="node-{step}"', 1)[1]
    return re.search(r'<span class="reach-count">(.*?)</span>\s*<span class="reach-bar"', node, re.S).group(1)


def test_the_tree_shows_reach_and_drop_off_on_every_step(designer, leads):
    plain = designer.client.get("/designer/bots/lead-capture/edit")
    assert 'data-testid="reach"' not in plain.text and 'data-testid="show-analytics"' in plain.text
    page = designer.client.get("/designer/bots/lead-capture/edit?days=30&dialog=welcome").text
    assert re.sub(r"\s+", " ", reach_of(page, "lc-w1")).strip() == "<strong>3</strong>"
    assert "<strong>3</strong> <span class=\"reach-stop\">−1</span>" in reach_of(page, "lc-w3")
    assert 'title="3 reached this step; 1 stopped here (33%)"' in page
    contact = designer.client.get("/designer/bots/lead-capture/edit?days=30&dialog=contact").text
    assert "<strong>2</strong>" in reach_of(contact, "lc-c1")
    assert '<span class="reach-stop">−1</span>' in reach_of(contact, "lc-c2")
    assert 'style="width:100.0%"><span class="reach-drop" style="width:50.0%"' in contact  # 1 of 2 stopped at lc-c2
    assert 'id="node-lc-c9"' in contact and "<strong>1</strong>" in reach_of(contact, "lc-c9")


def test_the_insight_page_and_its_csv_downloads(designer, leads):
    page = designer.client.get("/designer/bots/lead-capture/insight?goal=lc-c8")
    assert page.status_code == 200 and "<svg" in page.text and page.text.count('<rect class="bar"') == 30
    assert "3 conversations from" in page.text and "1 of 3 conversations reached step" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert(1)" not in page.text
    days = designer.client.get("/designer/bots/lead-capture/insight/days.csv")
    assert days.mimetype == "text/csv" and "attachment" in days.headers["Content-Disposition"]
    assert table(days.text)[-1] == {"day": TODAY, "conversations": "3"} and len(table(days.text)) == 30
    tree = table(designer.client.get("/designer/bots/lead-capture/insight/tree.csv").text)
    assert {"step": "lc-c2", "reached": "2", "stopped": "1", "dropOff": "0.5"} in tree
    goal = table(designer.client.get("/designer/bots/lead-capture/insight/goal.csv?goal=lc-c8").text)
    assert goal == [{"goal": "lc-c8", "conversations": "3", "reached": "1", "rate": "0.3333"}]
    top = table(designer.client.get("/designer/bots/lead-capture/insight/misses.csv").text)
    assert [(m["text"], m["count"]) for m in top] == [("<script>alert(1)</script>", "1"), ("pizza", "1")]
    found = table(designer.client.get("/designer/bots/lead-capture/insight/transcripts.csv?storage=email"
                                      "&value=eva@example.com").text)
    assert [row["user"] for row in found] == ["eva"]
    assert designer.client.get("/designer/bots/lead-capture/insight/secrets.csv").status_code == 404


def test_transcripts_are_searched_and_read_on_the_insight_page(designer, leads):
    page = designer.client.get("/designer/bots/lead-capture/insight?text=YOUR+E-MAIL").text
    rows = re.findall(r'data-testid="transcript-row"><td><a class="mono" href="([^"]+)"', page)
    assert len(rows) == 2 and "<td>adam</td>" in page and "<td>zoe</td>" not in page
    one = designer.client.get(rows[0].replace("&amp;", "&")).text
    assert 'data-testid="transcript"' in one and "Your e-mail?" in one
    by_user = designer.client.get("/designer/bots/lead-capture/insight?user=zoe").text
    assert by_user.count('data-testid="transcript-row"') == 1


def test_a_period_without_data_shows_zeros_and_a_wrong_one_a_clear_error(designer, leads):
    empty = designer.client.get("/designer/bots/lead-capture/insight?from=2020-01-01&to=2020-01-31&goal=lc-c8")
    assert empty.status_code == 200 and "0 conversations from 2020-01-01 to 2020-01-31" in empty.text
    assert "No misses in this period." in empty.text and "No conversations in this period." in empty.text
    assert "0 of 0 conversations reached" in empty.text
    assert table(designer.client.get("/designer/bots/lead-capture/insight/tree.csv?from=2020-01-01&to=2020-01-02")
                 .text) == []
    wrong = designer.client.get("/designer/bots/lead-capture/insight?from=2020-02-01&to=2020-01-01")
    assert wrong.status_code == 422 and "before it starts" in wrong.text
    garbled = designer.client.get("/designer/bots/lead-capture/insight/days.csv?from=yesterday")
    assert garbled.status_code == 422 and "YYYY-MM-DD" in garbled.text


# --- learning from misses ------------------------------------------------------------------------

def test_a_miss_is_learnt_as_a_phrasing_or_dismissed(designer, leads):
    page = designer.client.get("/designer/bots/lead-capture/misses").text
    assert page.count('data-testid="miss"') == 2
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    learn = re.search(r'<strong>pizza</strong>.*?action="([^"]+/learn)"', page, re.S).group(1)
    assert designer.post(learn, {"target": "0"}).status_code == 302
    option = designer.draft("lead-capture")[0]["dialogs"][0]["steps"][2]["options"][0]
    assert option["phrasings"] == ["pizza"]
    page = designer.client.get("/designer/bots/lead-capture/misses").text
    assert page.count('data-testid="miss"') == 1 and "<strong>pizza</strong>" not in page
    dismiss = re.search(r'action="([^"]+/dismiss)"', page).group(1)
    assert designer.post(dismiss).status_code == 302
    assert "No misses to look at" in designer.client.get("/designer/bots/lead-capture/misses").text
    again = designer.post(learn, {"target": "9"})
    assert again.status_code == 422 and "no option number 9" in again.text
    assert designer.post("/designer/bots/lead-capture/misses/nope/1/dismiss").status_code == 404


def test_editors_use_the_qa_pages_and_signed_out_visitors_do_not(app, client, leads):
    for path in ("/designer/bots/lead-capture/tests", "/designer/bots/lead-capture/insight",
                 "/designer/bots/lead-capture/misses"):
        assert client.get(path).status_code == 302  # to sign-in
    editor = Designer(app, client).sign_in("ed@example.com", "editor pass", role="editor")
    with app.app_context():
        bot_access.grant("lead-capture", "ed@example.com")  # a bot imported outside the designer is for admins
        db.session.remove()
    for path in ("/designer/bots/lead-capture/tests", "/designer/bots/lead-capture/insight",
                 "/designer/bots/lead-capture/misses", "/designer/bots/lead-capture/edit?days=7"):
        assert client.get(path).status_code == 200
    saved = editor.post("/designer/bots/lead-capture/tests/edit",
                        {"name": "<script>x</script>", "original": "", "yaml": "name: t\nsteps:\n  - say: hi\n"})
    assert saved.status_code == 302
    page = client.get("/designer/bots/lead-capture/tests").text
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page
    assert client.post("/designer/bots/lead-capture/tests/run").status_code == 400  # no CSRF token


def test_the_faq_form_saves_every_field(designer, bots):
    bot = designer.create_bot("FAQ")
    step = designer.add_step(bot, "faq", "welcome")
    form = {"_dialog": "welcome", "text": "Ask me", "questions.0.question": "Opening hours?",
            "questions.0.phrasings": "When are you open?\nHours", "questions.0.answer": "9 to 5",
            "matcher": "semantic", "threshold": "40", "storage": "asked"}
    saved = designer.edit(f"/designer/bots/{bot}/steps/{step}", form)
    assert saved.status_code == 200, saved.text
    faq = next(s for s in designer.draft(bot)[0]["dialogs"][0]["steps"] if s["id"] == step)
    assert (faq["matcher"], faq["threshold"], faq["storage"], faq["text"]) == ("semantic", 40, "asked", "Ask me")
    assert faq["questions"][0]["question"] == "Opening hours?" and faq["questions"][0]["answer"] == "9 to 5"
    inspector = designer.client.get(f"/designer/bots/{bot}/steps/{step}").text
    assert 'name="matcher"' in inspector and '<option value="semantic" selected>' in inspector
