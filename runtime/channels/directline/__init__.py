"""The webchat's server side: Direct Line 3.0 over polling (`/v3/directline`), anonymous tokens for public
bots (`/b/<bot>/webchat/token`), CORS for both, and the `flask directline` commands.

Settings (defaults in `init_app`): DIRECTLINE_TOKEN_TTL (seconds a token lives, 1800),
DIRECTLINE_MAX_BODY_BYTES (65536), WEBCHAT_TOKEN_RATE_LIMIT (anonymous tokens per client address,
"20 per minute"), DIRECTLINE_CLOCK (a callable giving UNIX seconds; tests move time with it).
Rate limits are counted in Redis when REDIS_URL is set, else in the process's memory.
"""

from __future__ import annotations

import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from runtime.channels.directline import api, cli, cors, errors, webchat
from runtime.jobs import limits_storage

DEFAULTS = {
    "DIRECTLINE_TOKEN_TTL": 30 * 60,
    "DIRECTLINE_MAX_BODY_BYTES": 64 * 1024,
    "WEBCHAT_TOKEN_RATE_LIMIT": "20 per minute",
    "DIRECTLINE_CLOCK": time.time,
}


def init_app(app: Flask) -> None:
    """Register the blueprints, CORS headers, JSON errors, the rate limit and the CLI on the app."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config["DIRECTLINE_TOKEN_TTL"] = int(app.config["DIRECTLINE_TOKEN_TTL"])
    app.config["DIRECTLINE_MAX_BODY_BYTES"] = int(app.config["DIRECTLINE_MAX_BODY_BYTES"])
    app.register_blueprint(api.bp)
    app.register_blueprint(webchat.bp)
    app.register_error_handler(errors.DirectLineError, errors.as_json)
    app.after_request(cors.add_headers)
    app.cli.add_command(cli.directline)
    # A moving window: a burst cannot slip through at the edge of two fixed windows.
    limiter = Limiter(get_remote_address, app=app, storage_uri=limits_storage(app),
                      key_prefix=app.config["ARBOR_REDIS_PREFIX"],
                      strategy="moving-window", headers_enabled=True, swallow_errors=True)
    limiter.limit(lambda: current_app.config["WEBCHAT_TOKEN_RATE_LIMIT"], methods=["POST"],
                  error_message="Too many new chats from this address; try again in a minute.")(webchat.bp)
