"""The JSON a management API call sends, or a 400 that says how to send it.

Read here rather than by `request.get_json`, which lets nesting too deep for Python's parser through as a 500.
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest

from runtime.store import storable


def json_value(what: str = "JSON") -> Any:
    """Any JSON value (a dataset's rows are a list); 400 for a body that is not standard JSON Arbor can keep
    (runtime/store/storable.py: no NUL, NaN, Infinity or lone surrogate)."""
    try:
        return storable.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):  # UnicodeDecodeError too
        raise BadRequest(f"The body must be {what} (Content-Type: application/json).") from None
    except storable.NotStorable as e:
        raise BadRequest(str(e)) from None


def json_object() -> dict:
    """A JSON object, the body of most calls."""
    body = json_value("a JSON object")
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object (Content-Type: application/json).")
    return body
