"""What the database can keep: PostgreSQL stores no NUL character (U+0000) in text or JSONB, so every way in
that takes text from outside (Direct Line, platform hooks, the management API, agents' messages) refuses it
with a 400 instead of failing at the insert with a 500 (SQLite would keep it; both behave alike this way)."""

from __future__ import annotations

from typing import Any

NUL_REFUSED = "Texts must not contain NUL characters (\\u0000); remove them."


def holds_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds a NUL character in any string, keys included."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    return isinstance(value, list) and any(holds_nul(item) for item in value)
