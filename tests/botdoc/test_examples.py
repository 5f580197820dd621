"""The example bots loaded by the run command, and what their conversation tests cannot show (timeouts)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from designer_client import Designer

from runtime.botdoc import walk
from runtime.steps._condition_rows import describe, read
from runtime.steps.base import Input
from runtime.store import bots, handovers
from runtime.store.examples import import_examples
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_examples_are_imported_and_published_once(app):
    with app.app_context():
        assert import_examples(EXAMPLES) == ["booking", "faq", "jobs-crm", "lead-capture", "support"]
        assert all(bot.published_version == 1 for bot in bots.list_bots())
        assert import_examples(EXAMPLES) == []  # a second start leaves them (and any edits) alone
        assert [bot.published_version for bot in bots.list_bots()] == [1, 1, 1, 1, 1]


def test_the_designer_lists_no_problems_in_the_example_bots(app, client):
    Designer(app, client).sign_in()
    with app.app_context():
        import_examples(EXAMPLES)
    for bot in ("booking", "faq", "jobs-crm", "lead-capture", "support"):
        problems = client.get(f"/designer/bots/{bot}/problems").text
        assert 'data-testid="problem-count">0<' in problems and "No problems." in problems, (bot, problems)


def test_the_support_bot_greets_with_plain_words_and_storage_names():
    """What a visitor reads first is written as a person who does not program would write it: the condition
    step says whether the page gave a name, and the texts only put a storage's value in (`{{ name }}`)."""
    doc = json.loads((EXAMPLES / "support.json").read_text())
    first_screen = [step["text"] for where, step, _ in walk.steps(doc)
                    if where.startswith("/dialogs/0/steps/0/") and step["type"] == "message"]
    first_screen.append(doc["dialogs"][0]["steps"][1]["text"])
    assert first_screen == ["Hello, {{ name }}! I am the support bot.", "Hello! I am the support bot.",
                            "How can I help?"]
    assert only_storage_names_put_in(first_screen)


def only_storage_names_put_in(lines: list[str]) -> bool:
    """Every placeholder of the texts is a storage's name as the Insert menu puts it (`{{ name }}`): no default,
    filter or `{% if %}`."""
    return all(re.fullmatch(r"\{\{ [A-Za-z]+ \}\}", part) for text in lines
               for part in re.findall(r"\{\{.*?\}\}|\{%.*?%\}", text))


def test_the_lead_capture_bot_greets_through_a_condition_step_with_plain_texts(app):
    """Whether the visitor came before and whether their name is known are a condition step's rows; each
    greeting is a plain text. A visitor reads one greeting: by name when it is known, "there" otherwise, and
    "Welcome back!" from the second visit on."""
    doc = json.loads((EXAMPLES / "lead-capture.json").read_text())
    greeting = doc["dialogs"][0]["steps"][1]
    assert greeting["type"] == "condition"
    assert [describe(branch["when"]) for branch in greeting["branches"]] == [
        "visits is more than 1 and name is not empty", "visits is more than 1", "name is not empty"]
    assert only_storage_names_put_in([step["text"] for where, step, _ in walk.steps(doc)
                                      if where.startswith("/dialogs/0/steps/1/") and step["type"] == "message"])
    with app.app_context():
        import_examples(EXAMPLES)

        def hello(user: str, **data: str) -> str:
            return texts(start_conversation("lead-capture", user, "webchat", data=data)[1])[0]

        assert hello("u1") == "Hi there! I am Arbor's demo assistant."
        assert hello("u1") == "Hi there! I am Arbor's demo assistant. Welcome back!"
        assert hello("u2", name="Eva") == "Hi Eva! I am Arbor's demo assistant."
        assert hello("u2") == "Hi Eva! I am Arbor's demo assistant. Welcome back!"


def test_every_condition_of_the_example_bots_opens_as_rows_in_words():
    """A person trying the examples sees conditions they can change by picking, never an expression to type."""
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        for _, step, _ in walk.steps(json.loads(path.read_text())):
            found += [(path.stem, branch["when"]) for branch in step.get("branches", []) if step["type"] == "condition"]
    assert ("lead-capture", "companySize|default(0)|float >= 50") in found
    assert [(bot, when) for bot, when in found if read(when) is None] == []
    assert describe("companySize|default(0)|float >= 50") == "companySize is at least 50"


def texts(activities: list[dict]) -> list[str]:
    return [a["text"] for a in activities if a["type"] == "message"]


def minutes_after(start: datetime, minutes: float) -> datetime:
    return start + timedelta(minutes=minutes)


def support_handed_over(user: str) -> str:
    """A support conversation whose visitor asked for a person; its id."""
    conversation, greeting = start_conversation("support", user, "webchat")
    assert texts(greeting) == ["Hello! I am the support bot.", "How can I help?"]
    handle(conversation.id, Input.message("Talk to a person"))
    assert handovers.open_of(conversation.id).status == "waiting"
    return conversation.id


def test_support_offers_to_take_a_message_when_nobody_accepts_the_handover_in_five_minutes(app, jobs):
    with app.app_context():
        import_examples(EXAMPLES)
        start = datetime.now(UTC)
        conversation_id = support_handed_over("u1")
        session = handovers.open_of(conversation_id)
        jobs.drain(until=minutes_after(start, 4))
        assert handovers.get(session.id).status == "waiting"  # no agent yet, and still waiting for one
        jobs.drain(until=minutes_after(start, 6))
        assert handovers.get(session.id).closed_by == "timeout"
        said = transcript(conversation_id)
        assert texts(said)[-2:] == ["Sorry, nobody is free to chat right now.",
                                    "Would you like to leave a message? Someone will write back to you."]
        assert [b["title"] for b in said[-1]["suggestedActions"]["actions"]] == ["Leave a message", "I will try later"]

        def say(text: str) -> list[str]:
            return texts(handle(conversation_id, Input.message(text)))

        assert say("Leave a message") == ["What is your name?"]
        assert say("Eva") == ["Thanks, Eva. Your e-mail, so that we can write back?"]
        assert say("eva@example.com") == ["What would you like to tell us?"]
        assert say("My parcel has not come.") == ["Thank you! Your message is with our team. Someone will write to "
                                                  "eva@example.com soon."]
        data = handovers.user_data(handovers.get(session.id))
        assert (data["name"], data["email"], data["leftMessage"]) == \
            ("Eva", "eva@example.com", "My parcel has not come.")


def test_support_lets_a_visitor_try_later_and_knows_a_name_the_page_gave(app, jobs):
    with app.app_context():
        import_examples(EXAMPLES)
        start = datetime.now(UTC)
        conversation, greeting = start_conversation("support", "u2", "webchat", data={"name": "Eva"})
        assert texts(greeting)[0] == "Hello, Eva! I am the support bot."
        handle(conversation.id, Input.message("Talk to a person"))
        jobs.drain(until=minutes_after(start, 6))
        assert texts(handle(conversation.id, Input.message("Leave a message"))) == \
            ["Thanks, Eva. Your e-mail, so that we can write back?"]  # the name the page gave is not asked again

        conversation_id = support_handed_over("u3")
        jobs.drain(until=minutes_after(start, 12))
        assert texts(handle(conversation_id, Input.message("I will try later"))) == \
            ["All right. Type anything when you want to start again."]
        assert texts(handle(conversation_id, Input.message("hi")))[0] == "Hello! I am the support bot."
