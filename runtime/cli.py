"""`flask --app app bots ...`: validate, import, export, list, publish and chat with bots from a shell.

For scripts and QA as much as for people: results go to stdout (`import` prints only the bot id, so
`id=$(flask --app app bots import bot.json)` works), problems to stderr, and every failure exits 1
with a one-line reason per problem, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from runtime import botdoc
from runtime.channels import terminal
from runtime.channels.directline import cors
from runtime.extensions import db
from runtime.store import bots as store
from runtime.store.models import Conversation
from runtime.testing import cli as testing_cli
from runtime.turns.turn import handle, start_conversation

bots = AppGroup("bots", help="Validate, import, export, publish and try out bots.")


def register(app: Flask) -> None:
    """Add the `bots` command group to the app's CLI."""
    app.cli.add_command(bots)
    bots.add_command(testing_cli.test)
    bots.add_command(testing_cli.require_tests)


@bots.command()
@click.argument("file", type=click.Path(path_type=Path))
def validate(file: Path) -> None:
    """Check a bot document.

    Prints every problem with its place (a JSON Pointer) and exits 1 on any error, so the designer's
    rules can be checked before a document is imported, in CI for example.
    """
    _checked(file)
    click.echo(f"{file}: valid")


@bots.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--publish", is_flag=True, help="Publish it as a new version too.")
def import_(file: Path, publish: bool) -> None:
    """Save a bot document as its bot's draft.

    Creates the bot if it is new and prints only its id, for scripts. An invalid document is
    refused and the last valid draft stays as it was.
    """
    bot = store.import_bot(_checked(file), publish=publish)
    if publish:
        click.echo(f"{bot.id}: published version {bot.published_version}", err=True)
    click.echo(bot.id)


@bots.command()
@click.argument("bot")
@click.option("--version", "number", type=click.IntRange(min=1),
              help="A published version (default: the draft).")
def export(bot: str, number: int | None) -> None:
    """Print a bot's document as JSON.

    The draft, or with --version a published version: what to keep in version control or move to
    another Arbor.
    """
    try:
        doc = store.get_version_doc(bot, store.DRAFT if number is None else number)
    except LookupError as e:
        _fail(str(e))
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


@bots.command("list")
def list_() -> None:
    """List the bots.

    One line per bot: id, name, the published version that runs (or "draft only"), last change.
    """
    rows = [(b.id, b.name, f"version {b.published_version}" if b.published_version else "draft only",
             f"{b.updated_at:%Y-%m-%d %H:%M} UTC") for b in store.list_bots()]
    if not rows:
        click.echo("No bots yet. Add one with: flask --app app bots import FILE", err=True)
    widths = [max(len(row[i]) for row in rows) for i in range(3)] if rows else []
    for *cells, updated in rows:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=True)]
        click.echo("  ".join([*padded, updated]))


@bots.command()
@click.argument("bot")
@click.option("--note", help="What changed, kept with the version.")
def publish(bot: str, note: str | None) -> None:
    """Publish a bot's draft as its next version.

    Conversations in flight move to it on their next turn.
    """
    try:
        version = store.publish(bot, note=note)
    except (LookupError, ValueError) as e:  # ValueError: the bot's tests must pass first, and did not
        _fail(str(e))
    click.echo(f"{bot}: published version {version.number}")


@bots.command()
@click.argument("bot")
@click.argument("origin", nargs=-1)
@click.option("--clear", is_flag=True, help="Remove every origin: no page opens a chat without the secret.")
def origins(bot: str, origin: tuple[str, ...], clear: bool) -> None:
    """Show or set the web origins whose pages may open a chat with BOT without its secret.

    With ORIGINs (like https://shop.example, or * for any site) they replace the list; the anonymous
    webchat token URL then serves pages of those origins. Without, prints the list, one per line.
    """
    try:
        store.get_bot(bot)
        if origin or clear:
            cors.set_allowed_origins(bot, list(origin))
    except (LookupError, ValueError) as e:
        _fail(str(e))
    for line in cors.allowed_origins(bot):
        click.echo(line)


@bots.command()
@click.argument("bot")
@click.option("--script", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the user's lines from this file (blank lines and # comments skipped), then exit.")
@click.option("--user", "user_id",
              help="Talk as this user id, whose data the bot remembers (default: a new user).")
def chat(bot: str, script: Path | None, user_id: str | None) -> None:
    """Talk with a published bot in the terminal.

    The bot speaks first. Type a message or a button's number; /event NAME [JSON] sends a page
    event, /restart starts a new conversation, /quit ends. With --script (or lines piped to stdin)
    each line is echoed as "> line", so the output reads as a transcript for QA and tests.
    """
    user_id = user_id or f"terminal-{uuid.uuid4().hex[:8]}"
    lines = _script_lines(script) if script else None
    try:
        conversation, activities = start_conversation(bot, user_id, "terminal")
    except LookupError as e:
        _fail(str(e))
    if script is None:
        click.echo(f"Talking with {bot} (version {conversation.bot_version}) as {user_id}. {terminal.HELP}",
                   err=True)
    typing = script is None and sys.stdin.isatty()
    buttons = _show(activities, [])
    for line in lines if lines is not None else _typed_lines(typing):
        if not typing:
            click.echo(f"> {line}")
        said = terminal.read(line, buttons)
        if isinstance(said, terminal.Command):
            if said.name == "quit":
                break
            if said.name == "restart":
                conversation, activities = start_conversation(bot, user_id, "terminal")
                buttons = _show(activities, [])
            elif said.name == "mistake" and script:
                _fail(f"{script}: {said.message}")
            else:
                click.echo(said.message or terminal.HELP, err=True)
            continue
        buttons = _show(handle(conversation.id, said), buttons)
        if db.session.get(Conversation, conversation.id).state.get("ended"):
            click.echo("(the conversation has ended; type anything to start again)")


def _show(activities: list[dict], buttons: list[dict]) -> list[dict]:
    """Print the bot's activities; return the buttons a typed number picks from now on.

    Those of the last message shown; when a turn shows no message, the earlier buttons stay.
    """
    for activity in activities:
        text = terminal.render(activity)
        if text:
            click.echo(text)
        if activity.get("type") == "message":
            buttons = terminal.choices(activity)
    return buttons


def _script_lines(script: Path) -> list[str]:
    """The user's lines of a script, read before the conversation starts so a bad file changes nothing."""
    try:
        text = script.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        _fail(f"{script}: {e.strerror if isinstance(e, OSError) else 'not UTF-8 text'}")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _typed_lines(typing: bool) -> Iterator[str]:
    """Lines from stdin, with a prompt for a person at a terminal; blank lines send nothing."""
    while True:
        try:
            line = input("> " if typing else "")
        except (EOFError, KeyboardInterrupt):
            if typing:
                click.echo()
            return
        if line.strip():
            yield line.strip()


def _checked(file: Path) -> dict:
    """The document in FILE; on any error, every problem printed and exit 1. Warnings are printed too."""
    limit = current_app.config["ARBOR_MAX_DOCUMENT_BYTES"]
    try:
        with file.open("rb") as handle:  # by its size before reading it, and never more than the limit
            refused = botdoc.too_large(os.fstat(handle.fileno()).st_size, limit)
            data = b"" if refused else handle.read(limit + 1)
    except OSError as e:
        _fail(f"{file}: {e.strerror}")
    if refused:
        _report([refused])
    try:
        doc = botdoc.parse(data, max_bytes=limit)
        problems = botdoc.validate(doc)
    except botdoc.DocumentError as e:
        doc, problems = {}, e.problems
    _report(problems)
    return doc


def _report(problems: list[botdoc.Problem]) -> None:
    """Print problems to stderr, one per line; exit 1 if any is an error."""
    for problem in problems:
        click.echo(str(problem), err=True)
    if any(p.severity == "error" for p in problems):
        raise click.exceptions.Exit(1)


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(1)
