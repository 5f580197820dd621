"""`flask bots ...`: every command through Flask's CLI runner, on a real migrated database."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import Result
from golden import load_doc
from sqlalchemy import select

from runtime import botdoc, cli
from runtime.extensions import db
from runtime.store import bots as store
from runtime.store.models import BotVersion

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LEAD_CAPTURE = EXAMPLES / "lead-capture.json"
SUPPORT = EXAMPLES / "support.json"


@pytest.fixture
def bots(app, runner):
    """Run `flask bots ARGS...`; a crash (a traceback) fails the test whatever the exit code."""
    if "bots" not in app.cli.commands:
        cli.register(app)

    def invoke(*args: str | Path, input: str | None = None) -> Result:
        result = runner.invoke(args=["bots", *map(str, args)], input=input)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        return result
    return invoke


def write(folder: Path, doc: dict, name: str = "bot.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


def chat(bots, tmp_path: Path, bot: str, *lines: str, user: str | None = None) -> Result:
    script = tmp_path / "script.txt"
    script.write_text("\n".join(lines) + "\n")
    result = bots("chat", bot, "--script", script, *(["--user", user] if user else []))
    assert result.exit_code == 0, result.output
    return result


def assert_in_order(output: str, *expected: str) -> None:
    """Each expected line appears in the output, after the one before it."""
    lines, at = output.splitlines(), 0
    for line in expected:
        assert line in lines[at:], f"{line!r} missing after line {at} of:\n{output}"
        at = lines.index(line, at) + 1


# --- validate ----------------------------------------------------------------------------------

def test_validate_a_valid_bot(bots):
    result = bots("validate", LEAD_CAPTURE)
    assert result.exit_code == 0
    assert result.stdout == f"{LEAD_CAPTURE}: valid\n"


def test_validate_prints_warnings_and_still_passes(bots, tmp_path):
    assert bots("validate", SUPPORT).stderr == ""  # the example has no problems
    doc = load_doc("support")
    doc["dialogs"][1]["steps"][0]["text"] = "Hello {{ nickname }}!"
    path = write(tmp_path, doc)
    result = bots("validate", path)
    assert result.exit_code == 0
    assert result.stdout == f"{path}: valid\n"
    assert result.stderr.startswith("warning: /dialogs/1/steps/0/text: Reads 'nickname', which no step keeps")


def test_validate_prints_every_error_with_its_pointer(bots, tmp_path):
    doc = load_doc("support")
    doc["dialogs"][0]["steps"].append({"id": "x1", "type": "goto", "dialog": "nowhere"})
    doc["dialogs"][1]["steps"].append({"id": "x2", "type": "goto", "dialog": "elsewhere"})
    result = bots("validate", write(tmp_path, doc))
    assert result.exit_code == 1
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: /dialogs/0/steps/2/dialog: There is no dialog 'nowhere'. "
        "Dialogs in this bot: welcome, order, checkout, not-understood, back.",
        "error: /dialogs/1/steps/3/dialog: There is no dialog 'elsewhere'. "
        "Dialogs in this bot: welcome, order, checkout, not-understood, back.",
    ]


def test_validate_reports_schema_errors_in_place(bots, tmp_path):
    doc = load_doc("support")
    doc["dialogs"][1]["steps"][0]["text"] = 5
    result = bots("validate", write(tmp_path, doc))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: /dialogs/1/steps/0/text: ")


@pytest.mark.parametrize(("content", "says"), [
    (b'{"format": 1,', "Not valid JSON: Expecting property name"),
    (b'{"name": "caf\xe9"}', "not UTF-8"),
    (b"[1, 2]", "JSON object"),
    (b"[" * 100_000, "Nested too deeply"),
    (b'{"pad": "' + b"x" * 20_000_000 + b'"}', "The file is 19.1 MB; a bot may be at most 5.0 MB"),
], ids=["malformed", "not-utf8", "not-an-object", "too-deep", "20mb"])
def test_validate_unreadable_files_in_one_line(bots, tmp_path, content, says):
    path = tmp_path / "bot.json"
    path.write_bytes(content)
    result = bots("validate", path)
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ") and says in result.stderr


@pytest.mark.parametrize("name", ["missing.json", "."])
def test_validate_a_file_that_cannot_be_read(bots, tmp_path, name):
    result = bots("validate", tmp_path / name)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {tmp_path / name}: ")


# --- import, export, list, publish -------------------------------------------------------------

def test_import_prints_only_the_id(bots, app):
    result = bots("import", LEAD_CAPTURE)
    assert result.exit_code == 0
    assert result.stdout == "lead-capture\n"
    with app.app_context():
        bot = store.get_bot("lead-capture")
        assert (bot.draft["name"], bot.published_version) == ("Lead capture", None)


def test_import_and_publish(bots, app):
    result = bots("import", SUPPORT, "--publish")
    assert result.exit_code == 0
    assert result.stdout == "support\n"
    assert "support: published version 1" in result.stderr
    with app.app_context():
        assert store.get_bot("support").published_version == 1


def test_an_invalid_import_keeps_the_valid_draft(bots, app, tmp_path):
    assert bots("import", SUPPORT).exit_code == 0
    broken = load_doc("support") | {"name": "Broken"}
    broken["dialogs"][0]["steps"].append({"id": "x1", "type": "goto", "dialog": "nowhere"})
    result = bots("import", write(tmp_path, broken))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error: /dialogs/0/steps/2/dialog: There is no dialog 'nowhere'." in result.stderr
    (tmp_path / "bad.json").write_text("{")
    assert bots("import", tmp_path / "bad.json").exit_code == 1
    with app.app_context():
        bot = store.get_bot("support")
        assert (bot.name, bot.draft_revision) == ("Support desk", 1)
        assert bot.draft == botdoc.check(load_doc("support"))


def test_import_again_replaces_the_draft(bots, app, tmp_path):
    bots("import", SUPPORT)
    assert bots("import", write(tmp_path, load_doc("support") | {"name": "Help desk"})).exit_code == 0
    with app.app_context():
        assert (store.get_bot("support").name, store.get_bot("support").draft_revision) == ("Help desk", 2)


def test_export_the_draft_and_published_versions(bots, tmp_path):
    bots("import", SUPPORT, "--publish")
    bots("import", write(tmp_path, load_doc("support") | {"name": "Help desk"}))
    draft = bots("export", "support")
    assert draft.exit_code == 0
    assert json.loads(draft.stdout) == botdoc.check(load_doc("support") | {"name": "Help desk"})
    assert draft.stdout.startswith('{\n  "format": 3,\n')
    first = bots("export", "support", "--version", "1")
    assert json.loads(first.stdout)["name"] == "Support desk"


@pytest.mark.parametrize(("args", "says"), [
    (["nope"], "error: There is no bot 'nope'."),
    (["support", "--version", "2"], "error: Bot 'support' has no version 2; publish it first."),
])
def test_export_unknown_bot_or_version(bots, args, says):
    bots("import", SUPPORT, "--publish")
    result = bots("export", *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == says


def test_list_aligns_one_line_per_bot(bots, tmp_path):
    empty = bots("list")
    assert (empty.exit_code, empty.stdout) == (0, "")
    assert "No bots yet" in empty.stderr
    bots("import", LEAD_CAPTURE, "--publish")
    bots("import", write(tmp_path, load_doc("support") | {"id": "s", "name": "Support"}))
    first, second = bots("list").stdout.splitlines()
    assert (first[:14], second[:14]) == ("lead-capture  ", "s             ")
    assert (first[14:28], second[14:28]) == ("Lead capture  ", "Support       ")
    assert (first[28:40], second[28:40]) == ("version 1   ", "draft only  ")
    assert first.endswith(" UTC") and first.index("UTC") == second.index("UTC")


def test_publish_numbers_versions_and_keeps_the_note(bots, app):
    bots("import", SUPPORT)
    assert bots("publish", "support").stdout == "support: published version 1\n"
    assert bots("publish", "support", "--note", "typo fixed").stdout == "support: published version 2\n"
    with app.app_context():
        assert store.get_bot("support").published_version == 2
        notes = db.session.execute(select(BotVersion.number, BotVersion.note).order_by(BotVersion.number))
        assert list(notes) == [(1, None), (2, "typo fixed")]


def test_publish_an_unknown_bot(bots):
    result = bots("publish", "nope")
    assert (result.exit_code, result.stderr) == (1, "error: There is no bot 'nope'.\n")


# --- chat --------------------------------------------------------------------------------------

def test_chat_lead_capture_books_a_demo(bots, tmp_path):
    bots("import", LEAD_CAPTURE, "--publish")
    result = chat(bots, tmp_path, "lead-capture", "# pick by number", "2", "Jane", "",
                  "jane(at)example", "jane@example.com", "120")
    assert result.stdout.splitlines()[:6] == [
        "Hi there! I am Arbor's demo assistant.",
        "What brings you here?",
        "  [1] See the plans",
        "  [2] Book a demo",
        "  [3] Just looking",
        "> 2",
    ]
    assert "# pick by number" not in result.stdout
    assert_in_order(
        result.stdout,
        "What is your name?", "> Jane",
        "Thanks, Jane. Your e-mail?", "> jane(at)example",
        "That does not look like an e-mail address. Please type it again, for example jane@example.com.",
        "> jane@example.com", "How many people work at your company?", "> 120",
        "A colleague who looks after larger teams will call you.",
        "Thank you, Jane! We will write to jane@example.com within a day.",
        "  Read our blog: https://example.com/blog",
        "(the conversation has ended; type anything to start again)",
    )


def test_chat_lead_capture_picks_a_plan_from_the_carousel(bots, tmp_path):
    bots("import", LEAD_CAPTURE, "--publish")
    result = chat(bots, tmp_path, "lead-capture", "See the plans", "2")
    assert_in_order(
        result.stdout,
        "> See the plans", "Our plans:",
        "  * Basic", "    19 € a month, up to 3 people", "    [1] Choose Basic",
        "  * Team", "    49 € a month, up to 20 people", "    [2] Choose Team",
        "  * Business", "    199 € a month, up to 500 people", "    [3] Choose Business",
        "> 2", "Good choice: the Team plan.", "What is your name?",
    )


def test_chat_support_tracks_an_order_and_waits_for_checkout(bots, tmp_path):
    bots("import", SUPPORT, "--publish")
    result = chat(bots, tmp_path, "support", "Track an order", "ab1234",
                  "/event checkout-opened", '/event checkout-done {"total": 12}', "3")
    assert_in_order(
        result.stdout,
        "Hello! I am the support bot.", "How can I help?", "  [1] Track an order",
        "> Track an order", "What is your order number? (two letters and four digits, like AB1234)",
        "> ab1234", "Order AB1234 is on its way. I have opened it on the page for you.",
        '(event show-order {"id": "AB1234"})', "How can I help?",
        "> /event checkout-opened", "I see you are checking out. I will wait here until you are done.",
        '> /event checkout-done {"total": 12}', "Thank you for your order!",
        '(event confetti {"total": "12"})', "How can I help?",
        "> 3", "Goodbye!", "(event close-chat)",
    )


def test_chat_renders_images_links_cards_and_events(bots, tmp_path):
    doc = {"format": 1, "id": "gallery", "name": "Gallery", "start": "main", "dialogs": [
        {"id": "main", "steps": [
            {"id": "g1", "type": "message", "text": "Look:", "image": "https://example.com/a.png",
             "buttons": [{"title": "Docs", "url": "https://example.com/docs"},
                         {"title": "More", "value": "more"}]},
            {"id": "g2", "type": "carousel", "storage": "pick", "cards": [
                {"title": "One", "subtitle": "the first", "text": "and the best",
                 "image": "https://example.com/1.png",
                 "buttons": [{"title": "Take one", "value": "one"}, {"title": "Read", "url": "https://example.com/1"}]},
                {"title": "Two", "buttons": [{"title": "Take two", "value": "two"}]}]},
            {"id": "g3", "type": "event", "name": "picked", "value": {"card": "{{ pick }}", "n": 2}},
            {"id": "g4", "type": "event", "name": "done"}]}]}
    assert bots("import", write(tmp_path, doc), "--publish").exit_code == 0
    result = chat(bots, tmp_path, "gallery", "2")
    assert result.stdout.splitlines() == [
        "Look:", "(image https://example.com/a.png)", "  Docs: https://example.com/docs", "  [1] More",
        "  * One", "    the first", "    and the best", "    (image https://example.com/1.png)",
        "    [1] Take one", "    Read: https://example.com/1", "  * Two", "    [2] Take two",
        "> 2", '(event picked {"card": "two", "n": 2})', "(event done)",
        "(the conversation has ended; type anything to start again)",
    ]


def test_chat_from_stdin_restart_and_quit(bots):
    bots("import", LEAD_CAPTURE, "--publish")
    lines = "2\nEva\n\n/help\n/nope\n/event x {bad\n/restart\n/quit\nnever sent\n"
    result = bots("chat", "lead-capture", "--user", "eva", input=lines)
    assert result.exit_code == 0
    assert "Talking with lead-capture (version 1) as eva." in result.stderr
    assert "/event NAME [JSON] sends a page event" in result.stderr
    assert "Unknown command /nope." in result.stderr
    assert "The value of /event x is not JSON" in result.stderr
    assert_in_order(result.stdout, "Hi there! I am Arbor's demo assistant.", "> 2", "What is your name?",
                    "> Eva", "Thanks, Eva. Your e-mail?", "> /help", "> /nope", "> /event x {bad",
                    "> /restart", "Hi Eva! I am Arbor's demo assistant. Welcome back!", "> /quit")
    assert "never sent" not in result.output


def test_chat_ends_at_end_of_input(bots):
    bots("import", SUPPORT, "--publish")
    result = bots("chat", "support", input="Track an order\n")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-2:] == [
        "> Track an order", "What is your order number? (two letters and four digits, like AB1234)"]


def test_chat_remembers_a_named_user_and_not_a_new_one(bots, tmp_path):
    bots("import", LEAD_CAPTURE, "--publish")
    chat(bots, tmp_path, "lead-capture", "2", "Jo", user="jo")
    again = chat(bots, tmp_path, "lead-capture", user="jo").stdout
    assert again.startswith("Hi Jo! I am Arbor's demo assistant. Welcome back!\n")
    assert chat(bots, tmp_path, "lead-capture").stdout.startswith("Hi there! I am Arbor's demo assistant.\n")


def test_chat_a_number_out_of_range_is_text(bots, tmp_path):
    bots("import", SUPPORT, "--publish")
    result = chat(bots, tmp_path, "support", "7")
    assert_in_order(result.stdout, "> 7", "Sorry, I did not get that.", "How can I help?",
                    "  [1] Track an order")


@pytest.mark.parametrize(("line", "says"), [
    ("/event checkout-done {total: 12}", "The value of /event checkout-done is not JSON"),
    ("/nope", "Unknown command /nope."),
])
def test_a_mistake_in_a_script_fails_it(bots, tmp_path, line, says):
    bots("import", SUPPORT, "--publish")
    script = tmp_path / "script.txt"
    script.write_text(f"{line}\nTrack an order\n")
    result = bots("chat", "support", "--script", script)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {script}: {says}")
    assert "What is your order number?" not in result.stdout


def test_a_script_that_is_not_text_fails_before_the_bot_speaks(bots, tmp_path):
    bots("import", SUPPORT, "--publish")
    script = tmp_path / "script.txt"
    script.write_bytes(b"caf\xe9\n")
    result = bots("chat", "support", "--script", script)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {script}: not UTF-8 text\n")


@pytest.mark.parametrize(("publish", "bot", "says"), [
    (False, "support", "error: Bot 'support' has not been published; publish it first."),
    (True, "nope", "error: There is no bot 'nope'."),
])
def test_chat_needs_a_published_bot(bots, publish, bot, says):
    bots("import", SUPPORT, *(["--publish"] if publish else []))
    result = bots("chat", bot)
    assert (result.exit_code, result.stdout) == (1, "")
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(says)


def test_chat_runs_the_latest_published_version(bots, tmp_path):
    bots("import", SUPPORT, "--publish")
    edited = copy.deepcopy(load_doc("support"))
    edited["dialogs"][0]["steps"][0]["else"][0]["text"] = "Hi, support here."  # the greeting of a nameless visitor
    bots("import", write(tmp_path, edited))
    assert chat(bots, tmp_path, "support").stdout.startswith("Hello! I am the support bot.\n")
    bots("publish", "support")
    assert chat(bots, tmp_path, "support").stdout.startswith("Hi, support here.\n")
