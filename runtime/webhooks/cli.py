"""`flask --app app webhooks ...`: a bot's webhook subscriptions from a shell (the management API's twin)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

from runtime import shell
from runtime.store.bots import BotNotFound
from runtime.webhooks import delivery, subscriptions

webhooks = AppGroup("webhooks", help="Subscribe outside systems to a bot's conversation events.")


def _run(action: Callable[[], Any]) -> Any:
    return shell.run(action, (subscriptions.SubscriptionError, subscriptions.SubscriptionNotFound, LookupError,
                              BotNotFound))


@webhooks.command("create")
@click.argument("bot")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True,
              help=f"One of {', '.join(subscriptions.EVENTS)}, or event:<name>; repeat for more.")
@click.option("--token", help="The verification token the receiver expects (made for you if left out).")
@click.option("--secret", help="A whsec_ signing secret of your own (made for you if left out).")
@click.option("--description")
def create(bot: str, url: str, events: tuple[str, ...], token: str | None, secret: str | None,
           description: str | None) -> None:
    """Subscribe URL to BOT's events and run the verification handshake. Prints the secret and token once."""
    made = _run(lambda: subscriptions.create(bot, url, list(events), verification_token=token, secret=secret,
                                             description=description))
    shell.show({**made.subscription, "secret": made.secret, "verificationToken": made.verification_token})
    if made.subscription["status"] != "active":
        click.echo(f"warning: {made.subscription['statusReason']} Fix the receiver, then run "
                   f"`flask webhooks verify {bot} {made.subscription['id']}`.", err=True)


@webhooks.command("list")
@click.argument("bot")
def list_(bot: str) -> None:
    """BOT's subscriptions with their state."""
    shell.show(_run(lambda: subscriptions.list_for(bot)))


@webhooks.command("edit")
@click.argument("bot")
@click.argument("subscription")
@click.option("--url")
@click.option("--event", "events", multiple=True)
@click.option("--token")
@click.option("--description")
def edit(bot: str, subscription: str, url: str | None, events: tuple[str, ...], token: str | None,
         description: str | None) -> None:
    """Change a subscription; a new URL or token runs the handshake again."""
    shell.show(_run(lambda: subscriptions.edit(bot, subscription, url=url, events=list(events) or None,
                                          verification_token=token, description=description)))


@webhooks.command("verify")
@click.argument("bot")
@click.argument("subscription")
def verify(bot: str, subscription: str) -> None:
    """Run the handshake again; on success the subscription is active again."""
    shown = _run(lambda: subscriptions.verify(bot, subscription))
    shell.show(shown)
    if shown["status"] != "active":
        sys.exit(1)


@webhooks.command("rotate-secret")
@click.argument("bot")
@click.argument("subscription")
@click.option("--keep-old-hours", default=24.0, show_default=True, help="The old secret signs too meanwhile.")
def rotate_secret(bot: str, subscription: str, keep_old_hours: float) -> None:
    """Make a new signing secret (printed once)."""
    click.echo(_run(lambda: subscriptions.rotate_secret(bot, subscription, keep_old_hours=keep_old_hours)))


@webhooks.command("delete")
@click.argument("bot")
@click.argument("subscription")
def delete(bot: str, subscription: str) -> None:
    """Delete a subscription and its delivery log."""
    _run(lambda: subscriptions.delete(bot, subscription))


@webhooks.command("log")
@click.argument("bot")
@click.argument("subscription")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]))
@click.option("--limit", default=20, show_default=True)
def log_(bot: str, subscription: str, status: str | None, limit: int) -> None:
    """The subscription's deliveries, newest first, with every attempt."""
    shell.show(_run(lambda: delivery.log_of(bot, subscription, status=status, limit=limit)))


@webhooks.command("redeliver")
@click.argument("bot")
@click.argument("delivery_id", type=int)
def redeliver(bot: str, delivery_id: int) -> None:
    """Send a delivery again, with the same webhook-id."""
    shell.show(_run(lambda: delivery.redeliver(bot, delivery_id)))
