"""The management API's blueprint: every view under `/b/<bot>/api/management` needs one of the bot's keys."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, Unauthorized

from runtime import ratelimit
from runtime.datasets import api as datasets_api
from runtime.management import exports, handovers, trigger
from runtime.management.keys import check_function_key
from runtime.webhooks import api as webhooks_api

# Only refused keys count: a client that keeps guessing keys waits; a working integration, however busy,
# is never limited.
LIMIT_SCOPE = "management-key"
GUESSING = "Too many requests with a wrong or missing function key from this address; wait a minute."
bp = Blueprint("management", __name__, url_prefix="/b/<bot>/api/management")
bp.add_url_rule("/export/<name>", view_func=exports.export, methods=["GET"])
bp.add_url_rule("/trigger/<path:address>/<dialog>", view_func=trigger.trigger, methods=["POST"])  # [/<mode>] too
datasets_api.register(bp)
handovers.register(bp)
webhooks_api.register(bp)


@bp.before_request
def _guard() -> None:
    """The key first (nothing about the bot is told to a caller without one), then the body's size.

    A valid key always passes, however many wrong ones came from the same address (behind a proxy, many
    clients share one): only refusals are counted, and only an address past the limit that presents no
    valid key waits (429). Keys are 256 random bits, so the limit is against floods, not a guard of keys."""
    try:
        check_function_key(request.view_args["bot"])
    except Unauthorized:
        ratelimit.check(LIMIT_SCOPE, "MANAGEMENT_AUTH_FAILURE_LIMIT", GUESSING)
        raise
    limit = current_app.config["DATASETS_MAX_BODY_BYTES" if (request.endpoint or "").startswith(
        "management.datasets_") else "MANAGEMENT_MAX_BODY_BYTES"]
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"The body is over {limit} bytes; send at most {limit} bytes of JSON.")
    request.max_content_length = limit


@bp.after_request
def _count_refusal(response: Response) -> Response:
    if response.status_code == 401:
        ratelimit.count(LIMIT_SCOPE, "MANAGEMENT_AUTH_FAILURE_LIMIT")
    return response
