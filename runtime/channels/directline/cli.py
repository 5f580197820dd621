"""`flask --app app directline secret BOT [--regenerate]`: the secret a site's backend opens chats with."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from runtime.channels.directline import secret as store
from runtime.store.bots import BotNotFound

directline = AppGroup("directline", help="The Direct Line API of the webchat: bots' secrets.")


@directline.command()
@click.argument("bot")
@click.option("--regenerate", is_flag=True, help="Replace the secret; the old one stops working at once.")
def secret(bot: str, regenerate: bool) -> None:
    """Print BOT's Direct Line secret, making one if it has none.

    Only the secret goes to stdout, for scripts. Keep it on servers: with it anyone can open chats as any
    user. Tokens made with a replaced secret stay valid until they expire.
    """
    try:
        value, created = store.reveal(bot, regenerate=regenerate)
    except (BotNotFound, store.SecretUnreadable) as e:
        click.echo(f"error: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    if created:
        click.echo(f"{bot}: a new Direct Line secret; the old one, if any, no longer works.", err=True)
    click.echo(value)
