"""`flask --app app bots secret BOT NAME` (set, replace or --delete a bot secret) and `bots secrets BOT` (names).

The value is read from a hidden prompt, or from stdin when it is piped (`printf %s "$TOKEN" | flask ...`),
never from the command line, where it would stay in the shell's history and the process list.
"""

from __future__ import annotations

import sys

import click
from flask import Flask

from runtime import cli
from runtime.store import secrets
from runtime.store.bots import BotNotFound, get_bot


@click.command("secret")
@click.argument("bot")
@click.argument("name")
@click.option("--delete", is_flag=True, help="Forget the secret.")
def secret(bot: str, name: str, delete: bool) -> None:
    """Set or replace the bot secret NAME of BOT, which its integrations use (a token, a password, a key).

    The value is asked for (hidden) or read from stdin; it is stored encrypted and never shown again.
    """
    try:
        get_bot(bot)
        if delete:
            if not secrets.delete_secret(bot, name):
                raise ValueError(f"Bot '{bot}' has no secret '{name}'.")
            click.echo(f"{bot}: secret '{name}' deleted", err=True)
            return
        value = sys.stdin.read().rstrip("\r\n") if not sys.stdin.isatty() else \
            click.prompt(f"Value of {name}", hide_input=True, err=True)
        secrets.set_secret(bot, name, value)
    except (BotNotFound, ValueError) as e:
        click.echo(f"error: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(f"{bot}: secret '{name}' set", err=True)


@click.command("secrets")
@click.argument("bot")
def secret_names(bot: str) -> None:
    """List the names of BOT's secrets, one per line (values are never shown)."""
    try:
        get_bot(bot)
    except BotNotFound as e:
        click.echo(f"error: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    for name in secrets.names(bot):
        click.echo(name)


def register(app: Flask) -> None:
    """Add the commands to the `bots` group."""
    cli.bots.add_command(secret)
    cli.bots.add_command(secret_names)
