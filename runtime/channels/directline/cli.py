"""`flask --app app directline secret BOT [--regenerate]`: the secret a site's backend opens chats with;
`flask --app app streams`: the Direct Line streams in a process of their own (stream_process.py)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

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


@click.command("streams")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
@with_appcontext
def streams(host: str, port: int) -> None:
    """Hold the Direct Line streams on one asyncio loop (thousands of idle ones), beside the web workers.

    Point clients at it with DIRECTLINE_STREAM_BASE=ws://HOST:PORT on the web app (or wss://... behind TLS), or
    route /v3/directline/conversations/*/stream to it at the proxy.
    """
    from runtime.channels.directline import stream_process  # aiohttp is loaded by this command only
    click.echo(f"Direct Line streams on ws://{host}:{port} (DIRECTLINE_STREAM_BASE)", err=True)
    stream_process.serve(current_app._get_current_object(), host, port)
