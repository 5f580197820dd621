"""The JSON object a management API call sends, or a 400 that says how to send one."""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest


def json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object (Content-Type: application/json).")
    return body
