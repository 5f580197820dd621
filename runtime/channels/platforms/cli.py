"""`flask --app app platforms ...`: a bot's messaging platform connections from a shell (the Platforms page's
twin). Tokens are printed once, when made; credentials are never printed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

from runtime import shell
from runtime.channels.platforms import connections
from runtime.channels.platforms.models import RULES
from runtime.store.bots import BotNotFound
from runtime.webhooks import delivery

platforms = AppGroup("platforms", help="Connect a bot to messaging platforms (SMS, WhatsApp, ...) by webhooks.")


def _run(action: Callable[[], Any]) -> Any:
    return shell.run(action, (connections.PlatformError, LookupError, BotNotFound))


def _credentials(bearer: str | None, basic: str | None) -> dict | None:
    if bearer and basic:
        click.echo("error: give --bearer or --basic, not both.", err=True)
        sys.exit(1)
    if bearer:
        return {"kind": "bearer", "token": bearer}
    if basic:
        username, _, password = basic.partition(":")
        return {"kind": "basic", "username": username, "password": password}
    return None


@platforms.command("create")
@click.argument("bot")
@click.argument("slug")
@click.argument("name")
@click.argument("url")
@click.option("--rule", type=click.Choice(RULES), default="bot-first", show_default=True)
@click.option("--bearer", help="The token replies carry as Authorization: Bearer.")
@click.option("--basic", metavar="USER:PASSWORD", help="Basic auth for replies.")
def create(bot: str, slug: str, name: str, url: str, rule: str, bearer: str | None, basic: str | None) -> None:
    """Connect BOT to a platform that sends to /b/BOT/hooks/SLUG and takes replies at URL. Prints the
    verification token once."""
    made = _run(lambda: connections.create(bot, slug, name, url, rule=rule, credentials=_credentials(bearer, basic)))
    shell.show({**made.connection, "verificationToken": made.token})


@platforms.command("list")
@click.argument("bot")
def list_(bot: str) -> None:
    """BOT's connections with their state."""
    shell.show(_run(lambda: connections.list_for(bot)))


@platforms.command("edit")
@click.argument("bot")
@click.argument("slug")
@click.option("--name")
@click.option("--url")
@click.option("--rule", type=click.Choice(RULES))
@click.option("--bearer")
@click.option("--basic", metavar="USER:PASSWORD")
@click.option("--no-credentials", is_flag=True, help="Replies carry no credentials.")
def edit(bot: str, slug: str, name: str | None, url: str | None, rule: str | None, bearer: str | None,
         basic: str | None, no_credentials: bool) -> None:
    """Change a connection; credentials not given are kept."""
    credentials = {"kind": "none"} if no_credentials else _credentials(bearer, basic)
    shell.show(_run(lambda: connections.edit(bot, slug, name=name, url=url, rule=rule, credentials=credentials)))


@platforms.command("token")
@click.argument("bot")
@click.argument("slug")
def token(bot: str, slug: str) -> None:
    """Make a new verification token (printed once); the old one stops working."""
    click.echo(_run(lambda: connections.regenerate_token(bot, slug)))


@platforms.command("reverify")
@click.argument("bot")
@click.argument("slug")
def reverify(bot: str, slug: str) -> None:
    """Switch a connection back on after failures; what it is owed is sent."""
    shell.show(_run(lambda: connections.reverify(bot, slug)))


@platforms.command("delete")
@click.argument("bot")
@click.argument("slug")
def delete(bot: str, slug: str) -> None:
    """Delete a connection, its conversations' addresses and its delivery log."""
    _run(lambda: connections.delete(bot, slug))


@platforms.command("log")
@click.argument("bot")
@click.argument("slug")
@click.option("--limit", default=20, show_default=True)
def log_(bot: str, slug: str, limit: int) -> None:
    """The connection's replies, newest first, with every attempt."""
    shown = _run(lambda: connections.get(bot, slug))
    shell.show(delivery.deliveries_of(shown["targetId"], limit=limit))
