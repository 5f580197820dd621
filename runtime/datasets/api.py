"""The datasets' management API: push (PUT replaces all rows, PATCH upserts and deletes by key), pull on change.

Views only: `register(bp)` adds them to the management blueprint, whose guard checks the function key
(`/b/<bot>/api/management/datasets/<name>`). Bad rows get a 422 naming each row to fix; nothing changes.
A dataset with a mapping takes pushes in its source's own shape, through the mapping (`pull.pushed_rows`).
"""

from __future__ import annotations

from flask import Blueprint
from werkzeug.exceptions import BadRequest, Conflict, NotFound, UnprocessableEntity

from runtime.datasets import pull, store
from runtime.datasets.models import Dataset
from runtime.management.body import json_value
from runtime.store.bots import BotNotFound


def register(bp: Blueprint) -> None:
    for rule, view, methods in (
            ("/datasets", list_datasets, ["GET"]), ("/datasets/<name>", show, ["GET"]),
            ("/datasets/<name>", replace, ["PUT"]), ("/datasets/<name>", patch, ["PATCH"]),
            ("/datasets/<name>/changed", changed, ["POST"])):
        bp.add_url_rule(rule, view_func=view, endpoint=f"datasets_{view.__name__}", methods=methods)


def list_datasets(bot: str):
    return _checked(lambda: {"datasets": store.list_for(bot)})


def show(bot: str, name: str):
    return _checked(lambda: store.describe(store.get(bot, name)))


def replace(bot: str, name: str):
    """Body: a JSON list of rows `{"key", "fields", "tags", "latitude", "longitude"}`, or `{"rows": [...]}`.
    Creates the dataset if it is new."""
    body = json_value()
    mapping = _mapping(bot, name)
    items = body.get("rows") if isinstance(body, dict) and not mapping else body
    if not isinstance(items, list) and not mapping:
        raise BadRequest('Send a JSON list of rows, or {"rows": [...]}.')

    def work() -> dict:
        rows = pull.pushed_rows(items, mapping)
        dataset = _find(bot, name) or store.define(bot, name)
        store.replace(dataset, rows)
        return store.describe(dataset)

    return _checked(work)


def patch(bot: str, name: str):
    """Body: `{"upsert": [rows], "delete": [keys]}`."""
    dataset = _checked(lambda: store.get(bot, name))  # a 404 for a wrong name before the body is read
    body = json_value()
    if not isinstance(body, dict) or not isinstance(body.get("upsert", []), list) \
            or not isinstance(body.get("delete", []), list):
        raise BadRequest('Send {"upsert": [rows], "delete": ["key", ...]}.')

    def work() -> dict:
        rows = pull.pushed_rows(body.get("upsert", []), dataset.mapping, listed=True)
        store.upsert(dataset, rows, body.get("delete", []))
        return store.describe(dataset)

    return _checked(work)


def changed(bot: str, name: str):
    """The source changed: pull it now, in the background."""
    _checked(lambda: pull.request_pull(bot, name), no_source=Conflict)
    return {"queued": True}, 202


def _mapping(bot: str, name: str) -> dict | None:
    dataset = _find(bot, name)
    return dataset.mapping if dataset else None


def _find(bot: str, name: str) -> Dataset | None:
    try:
        return store.get(bot, name)
    except store.DatasetNotFound:
        return None


def _checked(work, no_source=UnprocessableEntity):
    try:
        return work()
    except (store.DatasetNotFound, BotNotFound) as e:
        raise NotFound(str(e)) from None
    except store.DatasetError as e:
        raise (no_source if "no source" in str(e) else UnprocessableEntity)(str(e)) from None
