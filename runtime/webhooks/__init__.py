"""Outgoing webhooks: a bot's conversation events posted, signed, to the systems that subscribed to them.

`subscriptions` (create, verify, edit, delete), `events` (what a turn owes), `delivery` (the sending job,
retries, the log), `policy` (the retry rules), `signing` (Standard Webhooks), `cli` (`flask webhooks`).
"""

from __future__ import annotations

from flask import Flask

from runtime.jobs import periodic
from runtime.turns import effects
from runtime.turns.effects import COMMITTED
from runtime.webhooks import cli, events


def init_app(app: Flask) -> None:
    effects.registry(app).after_commit(COMMITTED, events.on_turn, when=events.owed)
    periodic.every(app, "runtime.webhooks.delivery.sweep", 60)
    app.cli.add_command(cli.webhooks)
