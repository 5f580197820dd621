"""Pulling a dataset from its source: download, map each record to a row, replace the rows, or keep the old ones.

The source answers JSON (a list of records, or an object holding one at `mapping.rows`) or CSV. The mapping
names, as dotted paths into a record, the `key`, optionally `latitude`, `longitude` and `tags` (a list or a
comma-separated text), and `fields` ({"name": "title", ...}; the whole record when left out). A source that
answers an HTML page, a cut-off file, too many rows or too many bytes is refused with a clear error kept on
the dataset for the designer; its old rows stay.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import tempfile
from datetime import timedelta
from typing import Any

from rq import Retry
from sqlalchemy import select

from runtime import integrations
from runtime.datasets import store
from runtime.datasets.models import Dataset
from runtime.extensions import db
from runtime.integrations.errors import IntegrationError
from runtime.jobs import app_job_id, enqueue, in_app
from runtime.store.models import utcnow

log = logging.getLogger(__name__)
QUEUE = "datasets"
TIMEOUT = 120.0
MAX_BYTES = 512 * 1024 * 1024
# A pull's job is retried when it raises or its worker dies mid-pull (a pull replaces the rows: running it again
# does no harm); without it a pull asked for once was lost with its worker.
RETRY = Retry(max=3, interval=[10, 60, 300])


class SourceError(Exception):
    """The source's answer cannot become rows; the message says what was wrong with it."""


def request_pull(bot_id: str, name: str) -> None:
    """Pull now, in the background (pull-on-change, or a person asking)."""
    dataset = store.get(bot_id, name)
    if not dataset.source_url:
        raise store.DatasetError(f"The dataset '{name}' has no source to pull from; push its rows instead.")
    _queue_pull(dataset.id)


@in_app
def pull_due() -> int:
    """Periodic: queue the pulls whose interval has passed; how many."""
    due = db.session.scalars(select(Dataset.id).where(Dataset.next_pull_at <= utcnow())).all()
    db.session.commit()
    for dataset_id in due:
        _queue_pull(dataset_id)
    return len(due)


def _queue_pull(dataset_id: int) -> None:
    """Queue a pull under the dataset's job id, the app's own (`app_job_id`): dataset ids are per database, and
    another app on the same Redis has a dataset of the same id."""
    enqueue("runtime.datasets.pull.pull", dataset_id, queue_name=QUEUE, job_id=app_job_id(f"dataset-pull-{dataset_id}"),
            retry=RETRY)


@in_app
def pull(dataset_id: int) -> str:
    """Download the dataset's source and replace its rows; on failure keep them and record why."""
    dataset = db.session.get(Dataset, dataset_id)
    if dataset is None or not dataset.source_url:
        return "no source"
    dataset.pulled_at = utcnow()
    if dataset.interval_seconds:
        dataset.next_pull_at = utcnow() + timedelta(seconds=dataset.interval_seconds)
    db.session.commit()
    try:
        rows = store.parse_rows(map_records(fetch(dataset.source_url), dataset.mapping or {}))
    except (SourceError, store.DatasetError) as e:
        log.warning("dataset %s/%s: pull failed, old rows kept: %s", dataset.bot_id, dataset.name, e)
        store.record_error(dataset, f"Pull from {dataset.source_url} failed, the old rows are kept: {e}")
        return "failed"
    store.replace(dataset, rows)
    return f"{len(rows)} rows"


def fetch(url: str) -> Any:
    """The source's records: a parsed JSON document, or a list of CSV records.

    The download goes to a spooled file (in memory while small, on disk when big) and CSV is read from it
    line by line, so a big source is not held in memory as bytes and text at once."""
    with tempfile.SpooledTemporaryFile(max_size=16 * 2**20) as file:
        try:
            answer = integrations.session().download(url, file, timeout=TIMEOUT, max_bytes=MAX_BYTES,
                                                     headers={"accept": "application/json, text/csv"})
        except IntegrationError as e:  # refused by the guard, unreachable, too slow, too big
            raise SourceError(str(e)) from None
        if not 200 <= answer.status < 300:
            raise SourceError(f"the source answered {answer.status}, not 2xx")
        size = file.tell()
        file.seek(0)
        kind = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
        start = file.read(1024).decode("utf-8-sig", "replace").lstrip()[:200].lower()
        file.seek(0)
        if kind == "text/html" or start.startswith(("<!doctype", "<html")):
            raise SourceError("the source answered an HTML page, not JSON or CSV (a login page or an error page?)")
        if kind in ("text/csv", "application/csv") or (not start.startswith(("[", "{")) and kind != "application/json"):
            return list(csv.DictReader(io.TextIOWrapper(file, "utf-8-sig", errors="replace", newline="")))
        text = file.read().decode("utf-8-sig", "replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()) - 1 or e.msg.startswith("Unterminated"):
            raise SourceError(f"the JSON ends too early after {size:,} bytes (a cut-off download?)") from None
        raise SourceError(f"the source's JSON is not valid: {e.msg} at line {e.lineno}, column {e.colno}") from None


def map_records(document: Any, mapping: dict) -> list[dict]:
    """Rows in the push shape, made from the source's records by the mapping."""
    records = _at(document, mapping["rows"]) if mapping.get("rows") else document
    if not isinstance(records, list):
        raise SourceError(f"expected a list of records{' at ' + mapping['rows'] if mapping.get('rows') else ''}, "
                          f"found {type(records).__name__}")
    if len(records) > store.MAX_ROWS:
        raise SourceError(f"the source has {len(records):,} records; a dataset holds at most {store.MAX_ROWS:,}")
    fields = mapping.get("fields")
    rows = []
    for record in records:
        if not isinstance(record, dict):
            rows.append(record)  # parse_rows names the bad row
            continue
        rows.append({"key": _at(record, mapping.get("key", "key")),
                     "fields": {name: _at(record, path) for name, path in fields.items()} if fields else record,
                     "tags": _at(record, mapping["tags"]) if mapping.get("tags") else [],
                     "latitude": _at(record, mapping["latitude"]) if mapping.get("latitude") else None,
                     "longitude": _at(record, mapping["longitude"]) if mapping.get("longitude") else None})
    return rows


def pushed_rows(items: Any, mapping: dict | None, *, listed: bool = False) -> list[store.Row]:
    """Pushed rows: Arbor's shape for a dataset without a mapping; with one, records in the source's own shape
    made into rows by the mapping, as a pull's are (the API book's push and pull feed one dataset).

    A whole push may be the source's document (its records at `mapping.rows`) or the list of records; a
    `listed` push (a PATCH's upserts) is a list of records. DatasetError naming the rows to fix."""
    if not mapping:
        return store.parse_rows(items)
    if listed or isinstance(items, list):
        mapping = {**mapping, "rows": None}
    try:
        return store.parse_rows(map_records(items, mapping))
    except (SourceError, store.DatasetError) as e:
        raise store.DatasetError(f"The rows went through the dataset's mapping (the key is at "
                                 f"'{mapping.get('key', 'key')}'), as a pull's records do: {e}") from None


def _at(value: Any, path: str) -> Any:
    for part in str(path).split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
