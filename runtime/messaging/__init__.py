"""E-mail and SMS to people: what `email` and `sms` steps send, logged in the outbox tables and sent by jobs.

`effects` (the steps' after-commit handlers: log the message, queue its job), `outbox` (the sending jobs: SMTP
through the outbound guard, Twilio's Messages API). The servers and providers are a bot's settings
(`runtime.management.settings`, `flask outbox smtp|sms`). `outbox.sweep`, every minute from the worker, queues
again the job of a message whose job was lost (Redis restarted without its data).
"""

from __future__ import annotations

from flask import Flask

from runtime.jobs import periodic
from runtime.messaging import effects as handlers
from runtime.turns import effects


def init_app(app: Flask) -> None:
    registry = effects.registry(app)
    registry.after_commit("email.send", handlers.email)
    registry.after_commit("sms.send", handlers.sms)
    periodic.every(app, "runtime.messaging.outbox.sweep", 60)
