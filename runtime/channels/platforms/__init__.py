"""The webhook channel for messaging platforms (SMS, WhatsApp, Messenger, a company's own apps) that route
conversations to a third-party bot: `adapters` (one per platform's wire format: Arbor's JSON, Webex Connect,
Twilio, the Bot Framework; each turns the platform's request into one inbound shape and formats replies back),
`connections` (per bot: its platform, inbound address and token, outbound address and credentials, rule),
`inbound` (the one inbound shape, and Arbor's JSON), `threads` (one conversation per platform user),
`inbound_ids` (an id applied once per connection), `replies` (by the connection's adapter), `statuses`
(delivery statuses on the transcript), `rules` (who answers), `api` (the inbound address), `cli` (`flask platforms`).

Settings: PLATFORM_MAX_BODY_BYTES (65536), the largest inbound body; TWILIO_API_URL (https://api.twilio.com).
"""

from __future__ import annotations

from flask import Flask

from runtime.channels.platforms import api, cli, connections, inbound_ids, replies
from runtime.turns import effects
from runtime.turns.effects import COMMITTED
from runtime.webhooks import delivery
from runtime.webhooks.models import PLATFORM


def init_app(app: Flask) -> None:
    app.config["PLATFORM_MAX_BODY_BYTES"] = int(app.config.get("PLATFORM_MAX_BODY_BYTES", 64 * 1024))
    app.register_blueprint(api.bp)
    # A user's replies wait for a platform switched off (re-verifying sends them, in order), never dropped.
    delivery.TARGETS[PLATFORM] = delivery.Target(connections.reply_headers, replies.sent, holds=True,
                                                url=connections.reply_url)
    effects.registry(app).after_commit(COMMITTED, replies.on_turn, when=replies.owed)
    app.cli.add_command(cli.platforms)
    inbound_ids.init_app(app)
