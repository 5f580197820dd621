"""A bot's conversation tests, kept with the bot: list, save, delete, run them all; the publish gate.

The designer edits and runs them through these functions; `flask bots test` runs them headless. A bot
whose settings say `requireTests` is published only when every test passes on the draft.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select

from runtime.extensions import db
from runtime.store import bots
from runtime.store.models import ConversationTest
from runtime.store.retry import in_transaction
from runtime.testing import runner, script
from runtime.testing.runner import TestResult

REQUIRE_SETTING = "requireTests"
MAX_NAME = 200


class TestsFailed(ValueError):
    """Publishing refused: the bot requires its tests to pass and some do not."""

    __test__ = False

    def __init__(self, bot_id: str, failed: list[TestResult]):
        first = failed[0]
        where = f" ({first.where()})" if first.line else ""
        super().__init__(f"Bot '{bot_id}' requires its tests to pass before publishing; {len(failed)} failed, "
                         f"first '{first.name}'{where}: {first.message}")
        self.bot_id, self.failed = bot_id, failed


def list_tests(bot_id: str) -> list[ConversationTest]:
    """The bot's tests, by name."""
    return list(db.session.scalars(select(ConversationTest).where(ConversationTest.bot_id == bot_id)
                                   .order_by(ConversationTest.name)))


def save_test(bot_id: str, name: str, text: str) -> ConversationTest:
    """Save (create or replace) a test; a test that does not parse raises `script.ScriptError` and is not saved."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise script.ScriptError(f"A test needs a name of 1 to {MAX_NAME} characters.")
    script.parse(text, name=name)
    bots.get_bot(bot_id)

    def save() -> ConversationTest:
        test = db.session.get(ConversationTest, (bot_id, name)) or ConversationTest(bot_id=bot_id, name=name)
        test.yaml = text
        db.session.add(test)
        return test

    return in_transaction(save)


def delete_test(bot_id: str, name: str) -> bool:
    """Delete a test; False if there was none of that name."""
    return in_transaction(lambda: db.session.execute(delete(ConversationTest).where(
        ConversationTest.bot_id == bot_id, ConversationTest.name == name)).rowcount > 0)


def run_test(bot_id: str, name: str, text: str, *, version: int | None = None) -> TestResult:
    """Run one test's YAML; one that does not parse fails with the line and column of the mistake."""
    try:
        parsed = script.parse(text, name=name)
    except script.ScriptError as e:
        return TestResult(name, False, e.message, e.line, e.column)
    return runner.run(bot_id, parsed, version=version, name=name)


def run_all(bot_id: str, *, version: int | None = None) -> list[TestResult]:
    """Run every saved test of a bot (see `runner.run` for `version`), by name."""
    return [run_test(bot_id, test.name, test.yaml, version=version) for test in list_tests(bot_id)]


def require_tests(bot_id: str, required: bool = True) -> None:
    """Set whether publishing the bot requires all its tests to pass."""
    bots.change_setting(bot_id, REQUIRE_SETTING, lambda _: required)


def check_before_publish(bot_id: str) -> None:
    """Raise TestsFailed if the bot requires passing tests and one fails on the draft."""
    bot = bots.get_bot(bot_id)
    if not (bot.settings or {}).get(REQUIRE_SETTING):
        return
    failed = [result for result in run_all(bot_id, version=bots.DRAFT) if not result.passed]
    if failed:
        raise TestsFailed(bot_id, failed)


def import_folder(bot_id: str, folder: Path) -> list[str]:
    """Save every `*.yaml` in a folder as a test of the bot (named by the file); returns the names."""
    names = []
    for path in sorted(folder.glob("*.yaml")):
        save_test(bot_id, path.stem, path.read_text(encoding="utf-8"))
        names.append(path.stem)
    return names
