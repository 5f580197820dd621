"""The webchat's server side: Direct Line 3.0 over polling and WebSocket streams (`/v3/directline`), anonymous
tokens for public bots (`/b/<bot>/webchat/token`), CORS for both, and the `flask directline` commands.

Settings (defaults in `init_app`): DIRECTLINE_TOKEN_TTL (seconds a token lives, 1800),
DIRECTLINE_MAX_BODY_BYTES (65536), DIRECTLINE_STREAM_KEEPALIVE (seconds between a stream's empty keep-alive
messages, 15), DIRECTLINE_STREAM_BASE (unset: streams are served by the web app; ws[s]://host:port of a
`flask streams` process), WEBCHAT_TOKEN_RATE_LIMIT (anonymous tokens per client address,
"20 per minute", see `runtime.ratelimit`), DIRECTLINE_CLOCK (a callable giving UNIX seconds; tests move time with it).
"""

from __future__ import annotations

import time

from flask import Flask
from werkzeug.routing import WebsocketMismatch

from runtime import ratelimit
from runtime.channels.directline import api, cli, cors, errors, stream, webchat

DEFAULTS = {
    "DIRECTLINE_TOKEN_TTL": 30 * 60,
    "DIRECTLINE_MAX_BODY_BYTES": 64 * 1024,
    "WEBCHAT_TOKEN_RATE_LIMIT": "20 per minute",
    "DIRECTLINE_CLOCK": time.time,
    "DIRECTLINE_STREAM_KEEPALIVE": 15,
}


def init_app(app: Flask) -> None:
    """Register the blueprints, CORS headers, JSON errors, the rate limit and the CLI on the app."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config["DIRECTLINE_TOKEN_TTL"] = int(app.config["DIRECTLINE_TOKEN_TTL"])
    app.config["DIRECTLINE_MAX_BODY_BYTES"] = int(app.config["DIRECTLINE_MAX_BODY_BYTES"])
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": stream.MAX_CLIENT_MESSAGE})  # not buffered
    app.register_blueprint(api.bp)
    app.register_blueprint(webchat.bp)
    app.register_error_handler(errors.DirectLineError, errors.as_json)
    app.register_error_handler(WebsocketMismatch, stream.mismatch)
    app.after_request(cors.add_headers)
    app.cli.add_command(cli.directline)
    app.cli.add_command(cli.streams)
    ratelimit.init_app(app)
