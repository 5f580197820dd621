"""Datasets and their rows: define a dataset, replace all its rows, upsert and delete some, read them back.

Rows come from a push (the management API), a pull (`pull`), or the command line, and are checked the same
way before anything is written: every row needs a key, coordinates come in pairs within range, and a batch
that fails a check changes nothing (the error lists the rows to fix). Writes run in one transaction, so a
reader sees the old rows or the new ones, never half of each.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select

from runtime.datasets.models import Dataset, DatasetRow, DatasetTag, band_of
from runtime.extensions import db
from runtime.store.bots import get_bot
from runtime.store.models import utcnow

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_ROWS = 1_000_000
MAX_KEY, MAX_TAG, MAX_TAGS = 200, 100, 50
CHUNK = 5_000
MAX_ERRORS_SHOWN = 20


_ID = select(Dataset.__table__.c.id).where(Dataset.__table__.c.bot_id == bindparam("bot_id"),
                                           Dataset.__table__.c.name == bindparam("name"))


class DatasetError(ValueError):
    """Bad rows or settings; the message says what to change."""


class DatasetNotFound(LookupError):
    def __init__(self, bot_id: str, name: str):
        super().__init__(f"Bot '{bot_id}' has no dataset '{name}'.")


@dataclass(frozen=True)
class Row:
    key: str
    fields: dict
    tags: tuple[str, ...]
    latitude: float | None
    longitude: float | None


def define(bot_id: str, name: str, *, source_url: str | None = None, mapping: dict | None = None,
           interval_seconds: int | None = None) -> Dataset:
    """Create a dataset, or change its source; rows stay as they are."""
    get_bot(bot_id)
    if not NAME.match(name or ""):
        raise DatasetError("A dataset's name has 1 to 64 letters, digits, '.', '_' or '-', like branches.")
    if interval_seconds is not None and not 60 <= interval_seconds <= 30 * 86400:
        raise DatasetError("Pull every 60 seconds to 30 days.")
    if interval_seconds and not source_url:
        raise DatasetError("A periodic pull needs a source URL.")
    if source_url and not isinstance((mapping or {}).get("key"), str):
        raise DatasetError("A pulled dataset's mapping names where each row's key is: {\"key\": \"id\", ...}.")
    dataset = _find(bot_id, name) or Dataset(bot_id=bot_id, name=name, row_count=0)
    dataset.source_url, dataset.mapping, dataset.interval_seconds = source_url, mapping, interval_seconds
    dataset.next_pull_at = utcnow() if interval_seconds else None
    db.session.add(dataset)
    db.session.commit()
    return dataset


def get(bot_id: str, name: str) -> Dataset:
    dataset = _find(bot_id, name)
    if dataset is None:
        raise DatasetNotFound(bot_id, name)
    return dataset


def dataset_id(bot_id: str, name: str) -> int:
    """The id of a dataset, for the hot path of a query (one indexed read, no ORM object)."""
    found = db.session.execute(_ID, {"bot_id": bot_id, "name": name}).scalar()
    if found is None:
        raise DatasetNotFound(bot_id, name)
    return found


def list_for(bot_id: str) -> list[dict]:
    return [describe(d) for d in db.session.scalars(select(Dataset).where(Dataset.bot_id == bot_id)
                                                      .order_by(Dataset.name))]


def remove(bot_id: str, name: str) -> None:
    dataset = get(bot_id, name)
    _clear(dataset.id)
    db.session.delete(dataset)
    db.session.commit()


def describe(dataset: Dataset) -> dict:
    """What the designer shows of a dataset: size, source, last update and the last error."""
    def when(moment):
        return moment.isoformat() if moment else None
    return {"name": dataset.name, "rows": dataset.row_count, "source": dataset.source_url,
            "mapping": dataset.mapping, "intervalSeconds": dataset.interval_seconds,
            "updatedAt": when(dataset.updated_at), "pulledAt": when(dataset.pulled_at),
            "error": dataset.error, "errorAt": when(dataset.error_at)}


def parse_rows(items: Iterable, *, limit: int = MAX_ROWS) -> list[Row]:
    """Check pushed or pulled rows; DatasetError naming every bad row (the first few) if any is bad."""
    rows, errors, keys = [], [], set()
    for i, item in enumerate(items):
        if i >= limit:
            raise DatasetError(f"More than {limit:,} rows; a dataset holds at most {MAX_ROWS:,}.")
        try:
            row = _row(item)
        except DatasetError as e:
            errors.append(f"row {i}: {e}")
            continue
        if row.key in keys:
            errors.append(f"row {i}: the key {row.key!r} appears twice")
        keys.add(row.key)
        rows.append(row)
    if errors:
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise DatasetError("Nothing was changed. " + "; ".join(errors[:MAX_ERRORS_SHOWN]) + more)
    return rows


def replace(dataset: Dataset, rows: list[Row]) -> None:
    """All the dataset's rows become `rows`, at once for readers; clears the last error."""
    _clear(dataset.id)
    _insert(dataset.id, rows)
    _touch(dataset, len(rows))
    db.session.commit()


def upsert(dataset: Dataset, rows: list[Row], delete_keys: list[str]) -> None:
    """Add or replace `rows` by key and delete the rows of `delete_keys`, in one transaction."""
    keys = [row.key for row in rows] + [str(k) for k in delete_keys]
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        db.session.execute(delete(DatasetTag).where(DatasetTag.dataset_id == dataset.id, DatasetTag.key.in_(chunk)))
        db.session.execute(delete(DatasetRow).where(DatasetRow.dataset_id == dataset.id, DatasetRow.key.in_(chunk)))
    _insert(dataset.id, rows)
    count = db.session.scalar(select(func.count()).where(DatasetRow.dataset_id == dataset.id))
    if count > MAX_ROWS:
        db.session.rollback()
        raise DatasetError(f"The dataset would hold {count:,} rows; at most {MAX_ROWS:,}. Nothing was changed.")
    _touch(dataset, count)
    db.session.commit()


def rows_of(dataset: Dataset, *, after: str | None = None, limit: int = 50) -> list[dict]:
    """Rows by key, a page at a time (`after` the last key shown), for the designer and the CLI."""
    query = select(DatasetRow).where(DatasetRow.dataset_id == dataset.id)
    if after is not None:
        query = query.where(DatasetRow.key > after)
    return [as_item(r.key, r.fields, r.tags, r.latitude, r.longitude)
            for r in db.session.scalars(query.order_by(DatasetRow.key).limit(min(limit, 500)))]


def as_item(key: str, fields: dict, tags: list, latitude: float | None, longitude: float | None) -> dict:
    """A row as steps see it (a carousel's `item`): its fields, with key, tags and place beside them."""
    item = {**fields, "key": key, "tags": tags}
    if latitude is not None:
        item.update(latitude=latitude, longitude=longitude)
    return item


def record_error(dataset: Dataset, message: str) -> None:
    dataset.error, dataset.error_at = message[:2000], utcnow()
    db.session.commit()


def _row(item) -> Row:
    if not isinstance(item, dict):
        raise DatasetError("a row is an object {\"key\", \"fields\", \"tags\", \"latitude\", \"longitude\"}")
    key = item.get("key")
    if isinstance(key, int | float) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str) or not key.strip():
        raise DatasetError("it has no key")
    if len(key) > MAX_KEY:
        raise DatasetError(f"its key is longer than {MAX_KEY} characters")
    fields = item.get("fields", {})
    if not isinstance(fields, dict):
        raise DatasetError("its fields are not an object")
    tags = item.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    if not isinstance(tags, list) or len(tags) > MAX_TAGS or \
            not all(isinstance(t, str) and 0 < len(t) <= MAX_TAG for t in tags if t):
        raise DatasetError(f"its tags are not a list of at most {MAX_TAGS} texts of up to {MAX_TAG} characters")
    latitude, longitude = _coordinate(item, "latitude", 90), _coordinate(item, "longitude", 180)
    if (latitude is None) != (longitude is None):
        raise DatasetError("it has only one of latitude and longitude; give both or neither")
    return Row(key, fields, tuple(dict.fromkeys(t for t in tags if t)), latitude, longitude)


def _coordinate(item: dict, name: str, bound: float) -> float | None:
    value = item.get(name)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DatasetError(f"its {name} {str(value)[:40]!r} is not a number") from None
    if not math.isfinite(number) or not -bound <= number <= bound:
        raise DatasetError(f"its {name} {value} is out of range (-{bound} to {bound})")
    return number


def _insert(dataset_id: int, rows: list[Row]) -> None:
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        db.session.execute(insert(DatasetRow), [
            {"dataset_id": dataset_id, "key": r.key, "fields": r.fields, "tags": list(r.tags),
             "latitude": r.latitude, "longitude": r.longitude,
             "band": None if r.latitude is None else band_of(r.latitude)} for r in chunk])
        tags = [{"dataset_id": dataset_id, "key": r.key, "tag": t} for r in chunk for t in r.tags]
        if tags:
            db.session.execute(insert(DatasetTag), tags)


def _clear(dataset_id: int) -> None:
    db.session.execute(delete(DatasetTag).where(DatasetTag.dataset_id == dataset_id))
    db.session.execute(delete(DatasetRow).where(DatasetRow.dataset_id == dataset_id))


def _touch(dataset: Dataset, count: int) -> None:
    dataset.row_count, dataset.updated_at, dataset.error, dataset.error_at = count, utcnow(), None, None


def _find(bot_id: str, name: str) -> Dataset | None:
    return db.session.scalar(select(Dataset).where(Dataset.bot_id == bot_id, Dataset.name == name))


