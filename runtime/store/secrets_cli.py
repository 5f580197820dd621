"""`flask --app app bots secret BOT NAME --for URL` (set, replace or --delete a bot secret) and `bots secrets BOT`
(names and the address each is for).

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
@click.option("--for", "address", metavar="URL", help="The address the secret is for (required to set one): "
                                                       "only integrations calling it receive the secret.")
@click.option("--delete", is_flag=True, help="Forget the secret.")
def secret(bot: str, name: str, address: str | None, delete: bool) -> None:
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
        if not address:
            raise ValueError(f"Say which address the secret is for: --for https://api.example.com "
                             f"(only integrations calling it receive '{name}').")
        value = sys.stdin.read().rstrip("\r\n") if not sys.stdin.isatty() else \
            click.prompt(f"Value of {name}", hide_input=True, err=True)
        secrets.set_secret(bot, name, value, bound_to=address)
    except (BotNotFound, ValueError) as e:
        click.echo(f"error: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(f"{bot}: secret '{name}' set", err=True)


@click.command("secrets")
@click.argument("bot")
def secret_names(bot: str) -> None:
    """List BOT's secrets, one per line: the name and the address it is for (values are never shown)."""
    try:
        get_bot(bot)
    except BotNotFound as e:
        click.echo(f"error: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    for name, _, address in secrets.listed(bot):
        click.echo(f"{name}\t{address or '(no address: set it again with --for)'}")


def register(app: Flask) -> None:
    """Add the commands to the `bots` group."""
    cli.bots.add_command(secret)
    cli.bots.add_command(secret_names)
