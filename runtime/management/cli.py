"""`flask --app app keys create|list|revoke`: the function keys that open bots' management APIs."""

from __future__ import annotations

from typing import NoReturn

import click
from flask.cli import AppGroup

from runtime.management import keys as store
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
