"""The query parameters of an export: `fromTimestamp`, `toTimestamp`, `notEmpty=a,b`, `where<Field>=value`.

Parsed and checked before any row is read, so a mistake is a 400 that says what to change, never a
half-sent array. Times bound the row's time (both ends included); field names are the export's
camelCase field names (`whereGender=male` is the field `gender`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

IGNORED = {"code"}  # the function key, read by `keys`
EMPTY = (None, "", [], {})


@dataclass
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    not_empty: list[str] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> set[str]:
        """The fields the filters name, to check that the export has them."""
        return {*self.not_empty, *self.where}

    def matcher(self) -> Callable[[dict], bool] | None:
        """A test of one mapped row, or None when every row passes (no field filters)."""
        if not self.fields:
            return None
        not_empty, where = self.not_empty, list(self.where.items())

        def matches(row: dict) -> bool:
            for name in not_empty:
                if row.get(name) in EMPTY:
                    return False
            for name, wanted in where:
                value = row.get(name)
                if value != wanted and not _equals(value, wanted):
                    return False
            return True

        return matches


def parse(args: MultiDict) -> Filters:
    """Read the filters from the query string; raise BadRequest naming the parameter to fix."""
    filters = Filters()
    for name, value in args.items(multi=True):
        if name == "fromTimestamp":
            filters.since = _moment(name, value)
        elif name == "toTimestamp":
            filters.until = _moment(name, value)
        elif name == "notEmpty":
            filters.not_empty += [part.strip() for part in value.split(",") if part.strip()]
        elif name.startswith("where") and len(name) > len("where"):
            filters.where[name[5].lower() + name[6:]] = value
        elif name not in IGNORED and name:
            raise BadRequest(f"Unknown parameter '{name[:60]}'. An export takes fromTimestamp, toTimestamp (UNIX "
                             "seconds), notEmpty=field1,field2 and where<Field>=value (e.g. whereGender=male).")
    if filters.since and filters.until and filters.since > filters.until:
        raise BadRequest("fromTimestamp is after toTimestamp: swap them, or leave one out.")
    return filters


def check_fields(filters: Filters, known: Iterable[str], export: str) -> None:
    """Refuse filters on fields the export does not have, listing the ones it has."""
    known = set(known)
    unknown = sorted(filters.fields - known)
    if unknown:
        raise BadRequest(f"The export '{export}' has no field {', '.join(repr(n) for n in unknown)}; "
                         f"its fields are: {', '.join(sorted(known))}.")


def _moment(name: str, value: str) -> datetime:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or not -62_135_596_800 <= seconds <= 253_402_300_799:
        raise BadRequest(f"{name} must be a time in UNIX seconds, a number such as 1559901734, "
                         f"not '{value[:40]}'.")
    return datetime.fromtimestamp(seconds, UTC)


def _equals(value: Any, wanted: str) -> bool:
    """A query value is text: it matches a text storage as is, any other value as JSON (`30`, `true`)."""
    if isinstance(value, str):
        return value == wanted
    return value is not None and json.dumps(value, ensure_ascii=False) == wanted
