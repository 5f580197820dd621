"""Rows of an export as JSON text, fast: a million rows must stream at tens of thousands per second.

Times are written as ISO 8601 UTC (`2019-06-07T10:02:14.000000Z`); SQLite hands them over as the text it
stores, which is turned into that form without making a datetime. A row of storages whose names are
camelCase already (most bots name them so) is not decoded and encoded again field by field: its JSON
text is spliced after `userId` and `timestamp`; other rows have their storage names camelCased.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Row

from runtime.store.activities import iso

encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
quote = encode_basestring  # a str as a JSON string, in C
Matcher = Callable[[dict], bool] | None
HEAD = ("userId", "timestamp")


def when(value: datetime | str | None) -> str | None:
    """A row's time as ISO 8601 UTC; SQLite's stored text (`2019-06-07 10:02:14.000000`, UTC) as is."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace(" ", "T", 1) + "Z"
    return iso(value.astimezone(UTC) if value.tzinfo else value)


def fixed_rows(names: list[str], matches: Matcher) -> Callable[[Row], str | None]:
    """Rows of columns only: a JSON object per row (None when the filters leave it out)."""
    at = names.index("timestamp")

    def text(row: Row) -> str | None:
        out = dict(zip(names, row, strict=False))
        out["timestamp"] = when(row[at])
        return encode(out) if matches is None or matches(out) else None

    return text


def storage_rows(matches: Matcher) -> Callable[[Row], str | None]:
    """Rows of (user id, time, storages as JSON text): `userId`, `timestamp`, then every storage camelCased."""
    names: dict[str, str] = {}  # storage name -> its exported (camelCase) name, for the names seen so far
    plain: set[str] = set()  # names that stay as they are (and are not userId or timestamp)
    scan = json.JSONDecoder().scan_once  # the C scanner itself: json.loads adds three Python calls a row

    def text(row: Row) -> str | None:
        user_id, moment, raw = row
        moment, raw = when(moment), (raw or "{}").strip()
        data: dict[str, Any] = scan(raw, 0)[0]
        if not names.keys() >= data.keys():
            _learn(names, plain, data)
        if plain.issuperset(data):  # no name to change: splice the stored text
            if matches is not None:
                data["userId"], data["timestamp"] = user_id, moment  # not storage names: `plain` has neither
                if not matches(data):
                    return None
            head = f'{{"userId":{quote(user_id)},"timestamp":{quote(moment) if moment else "null"}'
            return head + ("," + raw[1:] if data else "}")
        out = {"userId": user_id, "timestamp": moment}
        out.update({names[key]: value for key, value in data.items()})
        out["userId"], out["timestamp"] = user_id, moment  # a storage of either name does not hide them
        return encode(out) if matches is None or matches(out) else None

    return text


def _learn(names: dict[str, str], plain: set[str], data: dict) -> None:
    for key in data:
        names[key] = camel(key)
        if names[key] == key and key not in HEAD:
            plain.add(key)


@lru_cache(maxsize=4096)
def camel(storage: str) -> str:
    """`first_name` and `FirstName` -> `firstName`: exported fields are camelCase."""
    head, *rest = storage.strip("_").split("_")
    if not head:
        return storage
    return head[0].lower() + head[1:] + "".join(part[:1].upper() + part[1:] for part in rest)
