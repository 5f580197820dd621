"""`flask bots test BOT`: run a bot's conversation tests headless, for people and CI (exit code, JUnit XML)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn
from xml.etree import ElementTree

import click

from runtime.store import bots as store
from runtime.store import conversation_tests
from runtime.testing.runner import TestResult


@click.command("test")
@click.argument("bot")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run this YAML test file instead of the bot's saved tests (repeatable).")
@click.option("--junit", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also write the results as JUnit XML to this file, for CI.")
@click.option("--draft", is_flag=True, help="Test the draft (default: the published version, or the draft if none).")
def test(bot: str, files: tuple[Path, ...], junit: Path | None, draft: bool) -> None:
    """Run BOT's conversation tests and print one line per test.

    Exits 0 when all pass, 1 when any fails (with the first difference and its line), 2 when there is
    nothing to run.
    """
    version = store.DRAFT if draft else None
    try:
        store.get_bot(bot)
    except LookupError as e:
        _fail(str(e))
    if files:
        results = [conversation_tests.run_test(bot, path.stem, _read(path), version=version) for path in files]
    else:
        results = conversation_tests.run_all(bot, version=version)
    if not results:
        click.echo(f"error: bot '{bot}' has no conversation tests; add some or pass --file.", err=True)
        raise click.exceptions.Exit(2)
    for result in results:
        if result.passed:
            click.echo(f"PASS  {result.name}")
        else:
            where = f" ({result.where()})" if result.line else ""
            click.echo(f"FAIL  {result.name}{where}: {result.message}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if junit:
        junit.write_bytes(junit_xml(bot, results))
    if failed:
        raise click.exceptions.Exit(1)


@click.command("require-tests")
@click.argument("bot")
@click.argument("required", type=click.Choice(["on", "off"]))
def require_tests(bot: str, required: str) -> None:
    """Make publishing BOT require all its conversation tests to pass on the draft (on), or not (off)."""
    try:
        conversation_tests.require_tests(bot, required == "on")
    except LookupError as e:
        _fail(str(e))
    click.echo(f"{bot}: publishing {'requires' if required == 'on' else 'does not require'} passing tests")


def junit_xml(bot: str, results: list[TestResult]) -> bytes:
    """Results as a JUnit XML report (one testsuite, a testcase per test), as CI systems read them."""
    failed = sum(not r.passed for r in results)
    suite = ElementTree.Element("testsuite", name=f"arbor.{bot}", tests=str(len(results)), failures=str(failed),
                                errors="0", time=f"{sum(r.seconds for r in results):.3f}")
    for result in results:
        case = ElementTree.SubElement(suite, "testcase", classname=f"arbor.{bot}", name=result.name,
                                      time=f"{result.seconds:.3f}")
        if not result.passed:
            failure = ElementTree.SubElement(case, "failure", message=result.message)
            failure.text = "\n".join(result.transcript)
    return ElementTree.tostring(ElementTree.ElementTree(suite).getroot(), encoding="utf-8", xml_declaration=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        _fail(f"{path}: not UTF-8 text")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(1)
