"""Conversation tests: the YAML format, the runner over the real store, the CLI, the publish gate, recording."""

from __future__ import annotations

import copy
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import Result
from golden import load_doc
from sqlalchemy import func, select

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import bots as store
from runtime.store import conversation_tests
from runtime.store.examples import import_examples
from runtime.store.models import BotUser, Conversation, StepVisit, TranscriptEntry
from runtime.testing import recording, script
from runtime.turns import effects
from runtime.turns.turn import handle, start_conversation

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def cli(runner):
    def invoke(*args: str | Path) -> Result:
        result = runner.invoke(args=["bots", *map(str, args)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        return result
    return invoke


@pytest.fixture
def examples(ctx):
    return import_examples(EXAMPLES)


def run(bot: str, text: str, **kwargs):
    return conversation_tests.run_test(bot, "t", text, **kwargs)


def test_the_example_bots_ship_tests_that_pass_headless(app, examples, cli):
    # jobs-crm talks to outside APIs; tests/botdoc/test_example_jobs_crm.py runs it against local ones.
    assert examples == ["booking", "faq", "jobs-crm", "lead-capture", "support"]
    for bot in ("booking", "faq", "lead-capture", "support"):
        names = [t.name for t in conversation_tests.list_tests(bot)]
        assert names == sorted(p.stem for p in (EXAMPLES / "tests" / bot).glob("*.yaml")) and len(names) >= 2
        result = cli("test", bot)
        assert result.exit_code == 0, result.output
        assert result.output.endswith(f"{len(names)} passed, 0 failed\n")
    # Tests leave nothing behind: no users, conversations, transcripts or visits of theirs.
    assert db.session.scalar(select(func.count()).select_from(BotUser)) == 0
    assert db.session.scalar(select(func.count()).select_from(TranscriptEntry)) == 0
    assert db.session.scalar(select(func.count()).select_from(StepVisit)) == 0


def test_the_first_difference_is_reported_with_its_line(examples):
    text = (EXAMPLES / "tests" / "support" / "track-an-order.yaml").read_text()
    broken = text.replace("Please try again.", "Try again!")
    result = run("support", broken)
    line = broken.splitlines().index("  - bot: Order numbers look like AB1234. Try again!") + 1
    assert (result.passed, result.line) == (False, line)
    assert result.message == ("Expected the bot to say 'Order numbers look like AB1234. Try again!'; it said "
                              "'Order numbers look like AB1234. Please try again.'.")
    assert result.transcript[-2:] == ["> 12", "< Order numbers look like AB1234. Please try again."]


@pytest.mark.parametrize(("steps", "message"), [
    ("- bot: Hello! I am the support bot.\n- bot: Bye", "Expected the bot to say 'Bye'; it said 'How can I help?'."),
    ("- bot: {contains: Howdy}", "Expected the bot to say something containing 'Howdy'; it said 'Hello! I am"),
    ("- bot: {regex: 'Hello!'}", "Expected the bot to say something matching /Hello!/; it said"),
    ("- bot: Hello! I am the support bot.\n- bot: How can I help?\n  buttons: [Track an order]",
     "Expected the buttons ['Track an order'] with 'How can I help?'; the bot offered ['Track an order', "
     "'Help with checkout', 'Close the chat', 'Talk to a person']."),
    ("- click: Pizza", "There is no button 'Pizza' to click (buttons offered: 'Track an order', "),
    ("- sent: close-chat", "Expected the bot to send the event 'close-chat'; it said 'Hello! I am the support bot.' "
                           "first."),
    ("- click: Close the chat\n- bot: Goodbye!\n- bot: Bye", "Expected the bot to say 'Bye'; it sent the event"),
    ("- click: Close the chat\n- bot: Goodbye!\n- sent: close-chat\n- bot: Bye",
     "Expected the bot to say 'Bye'; it sent nothing more after 'Goodbye!'."),
    ("- click: Close the chat\n- bot: Goodbye!\n- sent: close-chat\n  value: 1",
     "The event 'close-chat' came with None, expected 1."),
    ("- storage: {topic: track}", "The storage 'topic' is empty; expected 'track'."),
    ("- click: Close the chat\n- storage: {topic: track}", "The storage 'topic' is 'close'; expected 'track'."),
    ("- at: sp-c2", "Expected the bot to wait at the step 'sp-c2'; it waits at 'sp-w2'."),
    ("- click: Close the chat\n- at: sp-w2", "Expected the bot to wait at the step 'sp-w2'; it has ended."),
])
def test_each_kind_of_expectation_reports_its_difference(examples, steps, message):
    text = "steps:\n" + "\n".join(f"  {line}" for line in steps.splitlines())
    result = run("support", text)
    assert not result.passed and result.message.startswith(message), result.message
    last_step = max(i for i, line in enumerate(text.splitlines()) if line.startswith("  - "))
    assert result.line == last_step + 1


def test_a_syntax_error_names_its_line_and_column(examples, cli, tmp_path):
    result = run("support", "steps:\n  - bot: Hello\n  - say: [unclosed\n")
    assert not result.passed and result.message.startswith("Not valid YAML:")
    assert result.where() == "line 4, column 1"
    with pytest.raises(script.ScriptError) as caught:
        conversation_tests.save_test("support", "bad", "steps:\n  - bot: {contains: Is it? no}\n")
    assert (caught.value.line, caught.value.column) == (2, 26)
    assert [t.name for t in conversation_tests.list_tests("support")] == ["close-the-chat", "page-events",
                                                                         "track-an-order", "track-an-order-in-czech"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - bot: Hello\n    say: hi\n")
    result = cli("test", "support", "--file", bad)
    assert result.exit_code == 1
    assert "FAIL  bad (line 2, column 5): A step has exactly one of say, click, event, bot, sent, storage, at; " \
           "this one has bot and say." in result.output


@pytest.mark.parametrize(("text", "message"), [
    ("- say: hi", "A test is a mapping with 'steps:'"),
    ("steps: []", "'steps:' must be a list"),
    ("stepz:\n  - say: hi", "Unknown key 'stepz'"),
    ("steps:\n  - hello", "Each step is a mapping"),
    ("steps:\n  - say: hi\n    buttons: [a]", "'buttons' does not go with 'say'"),
    ("steps:\n  - bot: {starts: Hi}", "'bot:' takes a text, or one of"),
    ("steps:\n  - bot: {regex: '(('}", "The regex is not valid"),
    ("steps:\n  - storage: [a]", "'storage:' is a mapping"),
    ("user: Eva\nsteps:\n  - say: hi", "'user:' must be a mapping"),
    ("language: Czech!\nsteps:\n  - say: hi", "'language:' must be a language tag"),
])
def test_a_test_of_the_wrong_shape_says_what_to_change(text, message):
    with pytest.raises(script.ScriptError) as caught:
        script.parse(text)
    assert message in caught.value.message and caught.value.line is not None


def test_an_expectation_on_a_step_that_no_longer_exists_is_reported_before_running(examples):
    doc = copy.deepcopy(load_doc("support"))
    doc["dialogs"][2]["steps"][1]["id"] = "sp-c2-renamed"
    store.import_bot(doc)
    text = "steps:\n  - click: Help with checkout\n  - at: sp-c2\n"
    assert run("support", text, version=store.DRAFT).message == (
        "The step 'sp-c2' does not exist in the draft of the bot (deleted or renamed?); update the test.")
    assert run("support", text).passed  # the published version still has it
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_junit_report_and_exit_code_for_ci(examples, cli, tmp_path):
    conversation_tests.save_test("support", "wrong-greeting", "steps:\n  - bot: Hi!\n")
    report = tmp_path / "junit.xml"
    result = cli("test", "support", "--junit", report)
    assert result.exit_code == 1 and "4 passed, 1 failed" in result.output
    suite = ElementTree.parse(report).getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "5", "1")
    failure = suite.find("testcase[@name='wrong-greeting']/failure")
    assert failure.get("message").startswith("Expected the bot to say 'Hi!'; it said 'Hello! I am the support bot.'")
    assert failure.text.startswith("< Hello! I am the support bot.")
    assert suite.find("testcase[@name='page-events']/failure") is None
    assert cli("test", "nobody").output == "error: There is no bot 'nobody'.\n"
    store.import_bot({**load_doc("support"), "id": "untested"})
    assert cli("test", "untested").exit_code == 2


def test_saved_tests_are_listed_replaced_and_deleted(examples):
    conversation_tests.save_test("support", "extra", "steps:\n  - bot: Hello! I am the support bot.\n")
    conversation_tests.save_test("support", "extra", "steps:\n  - bot: How can I help?\n")
    saved = {t.name: t.yaml for t in conversation_tests.list_tests("support")}
    assert saved["extra"] == "steps:\n  - bot: How can I help?\n"
    assert conversation_tests.delete_test("support", "extra") is True
    assert conversation_tests.delete_test("support", "extra") is False
    with pytest.raises(LookupError):
        conversation_tests.save_test("nobody", "x", "steps:\n  - say: hi\n")
    with pytest.raises(script.ScriptError):
        conversation_tests.save_test("support", " ", "steps:\n  - say: hi\n")


def test_publishing_can_require_the_tests_to_pass(examples, cli):
    edited = copy.deepcopy(load_doc("support"))
    edited["dialogs"][0]["steps"][1]["options"][0]["title"] = "Where is my order?"
    store.import_bot(edited)
    assert store.publish("support").number == 2  # not required yet
    assert cli("require-tests", "support", "on").exit_code == 0
    store.import_bot(copy.deepcopy(load_doc("support")))
    assert store.publish("support").number == 3  # the draft passes again
    store.import_bot(edited)
    with pytest.raises(conversation_tests.TestsFailed) as refused:
        store.publish("support")
    assert "first 'track-an-order' (line 6): Expected the buttons" in str(refused.value)
    result = cli("publish", "support")
    assert result.exit_code == 1 and "requires its tests to pass before publishing; 1 failed" in result.output
    assert store.get_bot("support").published_version == 3
    cli("require-tests", "support", "off")
    assert store.publish("support").number == 4


def test_a_conversation_is_saved_as_a_test_that_passes(examples):
    conversation, _ = start_conversation("support", "eva", "webchat", data={"name": "Eva"})
    handle(conversation.id, Input.message("Track an order"))
    handle(conversation.id, Input.message("ab1234"))
    handle(conversation.id, Input.event("checkout-opened"))
    handle(conversation.id, Input.event("checkout-done", {"total": 12}))
    text = recording.record(conversation.id, "recorded", user={"name": "Eva"})
    parsed = script.parse(text)
    assert [(s.kind, s.value) for s in parsed.steps][:4] == [
        ("bot", "Hello, Eva! I am the support bot."), ("bot", "How can I help?"), ("click", "Track an order"),
        ("bot", "What is your order number? (two letters and four digits, like AB1234)")]
    assert ("sent", "confetti") in [(s.kind, s.value) for s in parsed.steps]
    conversation_tests.save_test("support", "recorded", text)
    assert [r.name for r in conversation_tests.run_all("support") if not r.passed] == []


def test_a_test_of_a_bot_that_sends_e_mail_sends_none(app, bots, ctx):
    bots.load("outbox")
    announced = []
    text = ("user: {name: Eva, email: eva@example.com, phone: '+420777123456'}\nsteps:\n"
            "  - bot: {contains: Read our terms first.}\n  - bot: Shall I send you the offer?\n  - say: yes\n"
            "  - bot: Sent. I forgot everything else, friend.\n")
    def record(committed, effect: dict) -> None:
        announced.append(effect)

    for kind in ("email.send", "sms.send", "user-data.snapshot", "timer.start"):
        effects.registry(app).after_commit(kind, record, durable=False)
    result = conversation_tests.run_test("outbox", "offer", text)
    assert result.passed, result.message
    start_conversation("outbox", "real-user", "webchat", data={"email": "a@example.com", "name": "A"})
    assert announced == []  # the real conversation has not reached the e-mail step either


def test_yes_and_no_are_what_the_user_said_not_booleans():
    parsed = script.parse("steps:\n  - say: yes\n  - say: no\n  - storage: {ok: true, off: off}\n")
    assert [s.value for s in parsed.steps] == ["yes", "no", {"ok": True, "off": "off"}]


def test_a_czech_conversation_is_recorded_with_its_language_and_replays_in_it(examples):
    conversation, _ = start_conversation("support", "jana", "webchat", languages=["cs"])
    handle(conversation.id, Input.message("Sledovat objednávku"))
    handle(conversation.id, Input.message("ab1234"))
    text = recording.record(conversation.id, "czech")
    parsed = script.parse(text)
    assert parsed.language == "cs" and parsed.steps[0].value == "Dobrý den! Jsem bot zákaznické podpory."
    conversation_tests.save_test("support", "czech", text)
    assert [r.name for r in conversation_tests.run_all("support") if not r.passed] == []
