"""How Direct Line refuses a request: `{"error": {"code", "message"}}` with a status the clients act on.

DirectLineJS reads only the status (403: the token expired, get a new one; 404: the conversation ended);
the code and message are for the people wiring a page to a bot, so they name what to change.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from runtime.store import storable


class DirectLineError(HTTPException):
    """A refusal with a Bot Framework style error code (`TokenExpired`, `BadArgument`...)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(description=message)
        self.code = status
        self.error_code = code


def as_json(error: DirectLineError) -> tuple[Response, int]:
    return jsonify(error={"code": error.error_code, "message": error.description}), error.code


def bad_argument(message: str) -> DirectLineError:
    return DirectLineError(400, "BadArgument", message)


WATERMARK = re.compile(r"[0-9]{1,9}")


def watermark_arg() -> int:
    """The request's `watermark` (0 when absent or empty); BadArgument for anything but a number we gave."""
    value = request.args.get("watermark", "")
    if value == "":
        return 0
    if not WATERMARK.fullmatch(value):
        raise bad_argument(f"The watermark must be the number a previous answer gave (or empty), not '{value[:40]}'.")
    return int(value)


def storable_id(value: object) -> bool:
    """Whether a client's string can be looked up or stored as an id: printable (PostgreSQL refuses NUL
    in text) and no longer than the column."""
    return isinstance(value, str) and 0 < len(value) <= 255 and value.isprintable()


def limit_body() -> None:
    """Refuse bodies over DIRECTLINE_MAX_BODY_BYTES before reading them (chunked ones while reading)."""
    limit = current_app.config["DIRECTLINE_MAX_BODY_BYTES"]
    if (request.content_length or 0) > limit:
        raise DirectLineError(413, "BodyTooLarge", f"The body is over {limit} bytes; send one activity "
                                                   f"(or one request) of at most {limit} bytes.")
    request.max_content_length = limit


def json_body() -> dict[str, Any]:
    """The request's JSON object; an empty body is `{}`. Any Content-Type: some clients send none.

    Parsed here rather than by `request.get_json` so that nesting too deep for Python is a 400 too;
    what is not standard JSON Arbor can keep (NUL, NaN, Infinity, lone surrogates) is refused by
    runtime/store/storable.py.
    """
    data = request.get_data(cache=True)
    if not data:
        return {}
    try:
        body = storable.loads(data)
    except (ValueError, RecursionError):
        body = None
    except storable.NotStorable as e:
        raise bad_argument(str(e)) from None
    if not isinstance(body, dict):
        raise bad_argument("The body must be a JSON object (send Content-Type: application/json).")
    return body

