"""The management API under each bot's base URL `/b/<bot>/api/management` (DESIGN §8): exports and the
trigger API, opened by function keys; the `keys` and `outbox` commands; what feeds the exports (the
snapshots of `clear-data` steps, the URL tracker's redirect; e-mail and SMS are `runtime.messaging`'s).

Settings (defaults in `init_app`): MANAGEMENT_AUTH_FAILURE_LIMIT (requests with a wrong or missing key
one client address may make before it must wait, "10 per minute"; counted in Redis when REDIS_URL is
set, else in the process's memory), MANAGEMENT_MAX_BODY_BYTES (the largest trigger body, 1 MiB),
DATASETS_MAX_BODY_BYTES (the largest dataset push, 200 MiB),
ARBOR_BASE_URL (the server's public address, for tracked links made outside a request).
"""

from __future__ import annotations

from flask import Flask

from runtime import ratelimit
from runtime.management import api, cli, openapi, snapshots, tracker
from runtime.turns import effects
from runtime.turns.effects import OUTGOING

DEFAULTS = {
    "MANAGEMENT_AUTH_FAILURE_LIMIT": "10 per minute",
    "MANAGEMENT_MAX_BODY_BYTES": 1024 * 1024,
    "DATASETS_MAX_BODY_BYTES": 200 * 1024 * 1024,  # a push of every row of a large dataset
}


def init_app(app: Flask) -> None:
    """Register the API, the failed-key limit and the CLI on the app."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config["MANAGEMENT_MAX_BODY_BYTES"] = int(app.config["MANAGEMENT_MAX_BODY_BYTES"])
    app.register_blueprint(api.bp)
    app.register_blueprint(tracker.bp)
    app.register_blueprint(openapi.bp)
    registry = effects.registry(app)
    registry.on_turn(OUTGOING, tracker.tracked)
    registry.after_commit("user-data.snapshot", snapshots.keep)
    app.cli.add_command(cli.keys)
    app.cli.add_command(cli.outbox)
    ratelimit.init_app(app)
