"""`flask --app app keys create|list|revoke`: the function keys that open bots' management APIs;
`flask --app app outbox smtp|sms`: where a bot's e-mails and text messages go."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click
from flask.cli import AppGroup

from runtime.management import keys as store
from runtime.management import settings
from runtime.store.bots import BotNotFound

keys = AppGroup("keys", help="Function keys: the secrets that open a bot's management API.")


@keys.command()
@click.argument("bot")
@click.option("--name", required=True, help="What the key is for (\"analytics\", \"crm\").")
def create(bot: str, name: str) -> None:
    """Make a key for BOT and print it. It is shown this once: only a digest of it is kept."""
    try:
        _, key = store.create_key(bot, name)
    except (BotNotFound, ValueError) as e:
        _fail(str(e))
    click.echo(f"{bot}: a new function key '{name}'; keep it now, it cannot be shown again.", err=True)
    click.echo(key)


@keys.command("list")
@click.argument("bot")
def list_(bot: str) -> None:
    """List BOT's keys: id, name, created, last used, revoked (never the keys themselves)."""
    try:
        rows = store.list_keys(bot)
    except BotNotFound as e:
        _fail(str(e))
    for row in rows:
        shown = store.describe(row)
        click.echo("\t".join(str(shown[k] or "-") for k in ("id", "name", "created", "lastUsed", "revoked")))


@keys.command()
@click.argument("bot")
@click.argument("key")
def revoke(bot: str, key: str) -> None:
    """Revoke BOT's key KEY (its name or id, as `keys list` shows them); it stops working at once."""
    try:
        revoked = store.revoke_key(bot, key)
    except BotNotFound as e:
        _fail(str(e))
    if not revoked:
        _fail(f"Bot '{bot}' has no key in use named or numbered '{key}'; see: flask --app app keys list {bot}")
    for row in revoked:
        click.echo(f"revoked {row.id} {row.name}")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(1)


outbox = AppGroup("outbox", help="Where a bot's e-mails and text messages go: its SMTP server and SMS provider.")


@outbox.command()
@click.argument("bot")
@click.option("--host", required=True)
@click.option("--port", type=int, default=587, show_default=True)
@click.option("--security", type=click.Choice(settings.SMTP_SECURITY), default="starttls", show_default=True)
@click.option("--username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (kept encrypted, never shown).")
@click.option("--from", "sender", required=True, help="The From address of the bot's e-mails.")
def smtp(bot: str, host: str, port: int, security: str, username: str | None, password_stdin: bool,
         sender: str) -> None:
    """Set BOT's SMTP server for its `email` steps; without --password-stdin a password set before is kept."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        settings.set_smtp(bot, host=host, port=port, security=security, username=username, password=password,
                          sender=sender)
    except (BotNotFound, ValueError) as e:
        _fail(str(e))
    click.echo(json.dumps(settings.shown(bot, "smtp")))


@outbox.command()
@click.argument("bot")
@click.option("--account", required=True, help="The provider's account SID.")
@click.option("--token-stdin", is_flag=True, help="Read the auth token from stdin (kept encrypted, never shown).")
@click.option("--from", "sender", required=True, help="The number (or sender id) messages come from.")
@click.option("--base-url", default=settings.TWILIO, show_default=True,
              help="A Twilio-compatible Messages API.")
def sms(bot: str, account: str, token_stdin: bool, sender: str, base_url: str) -> None:
    """Set BOT's SMS provider for its `sms` steps; without --token-stdin a token set before is kept."""
    token = sys.stdin.readline().rstrip("\n") if token_stdin else None
    try:
        settings.set_sms(bot, account=account, token=token, sender=sender, base_url=base_url)
    except (BotNotFound, ValueError) as e:
        _fail(str(e))
    click.echo(json.dumps(settings.shown(bot, "sms")))
