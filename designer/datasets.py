"""A bot's Datasets page: each dataset's size, last update, last error and feed (pull URL and interval, or
push), its rows a page at a time (by key, never the whole set), "pull now", and the form that creates or
changes a pulled dataset. Storing and pulling are `runtime.datasets`'."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from designer import bp
from designer.bots import get_bot_or_404
from runtime.datasets import pull, store
from runtime.store import storable

PAGE_SIZE = 10
DETAIL = ("key", "tags", "latitude", "longitude")


def rows_page(bot_id: str, name: str, after: str | None) -> dict:
    """One page of a dataset's rows after the key `after`, the field columns they have, and the next key."""
    try:
        found = store.rows_of(store.get(bot_id, name), after=after, limit=PAGE_SIZE + 1)
    except store.DatasetNotFound as e:
        abort(404, str(e))
    rows, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    columns = list(dict.fromkeys(k for row in rows for k in row if k not in DETAIL))
    return {"name": name, "rows": rows, "columns": columns, "after": after,
            "next_after": rows[-1]["key"] if more else None}


def _page(bot_id: str, status: int = 200, error: str | None = None, form: MultiDict | None = None):
    bot = get_bot_or_404(bot_id)
    found = [{**d, "page": rows_page(bot_id, d["name"], None)} for d in store.list_for(bot_id)]
    return render_template("designer/datasets.html", bot=bot, datasets=found, error=error,
                           form=form or MultiDict()), status


@bp.get("/bots/<bot_id>/datasets")
def datasets(bot_id: str):
    return _page(bot_id)


@bp.get("/bots/<bot_id>/datasets/<name>/rows")
def dataset_rows(bot_id: str, name: str):
    bot = get_bot_or_404(bot_id)
    return render_template("designer/partials/_dataset_rows.html", bot=bot,
                           page=rows_page(bot_id, name, request.args.get("after") or None))


@bp.post("/bots/<bot_id>/datasets")
def dataset_save(bot_id: str):
    """Create a pulled dataset, or change one's source, mapping and interval (its rows stay)."""
    get_bot_or_404(bot_id)
    form = request.form
    name = form.get("name", "").strip()
    try:
        mapping = storable.loads(form.get("mapping") or "null")
    except (ValueError, RecursionError, storable.NotStorable) as e:
        return _page(bot_id, 422, f"The mapping is not JSON ({e}); write it like {{\"key\": \"id\"}}.", form)
    if mapping is not None and not isinstance(mapping, dict):
        return _page(bot_id, 422, "The mapping is a JSON object, like {\"key\": \"id\"}.", form)
    minutes = form.get("minutes", "").strip()
    if minutes and not minutes.isdigit():
        return _page(bot_id, 422, "Give the interval as a whole number of minutes, or leave it empty.", form)
    try:
        store.define(bot_id, name, source_url=form.get("url", "").strip() or None, mapping=mapping,
                     interval_seconds=int(minutes) * 60 if minutes else None)
    except store.DatasetError as e:
        return _page(bot_id, 422, str(e), form)
    flash(f"Saved the dataset {name}.")
    return redirect(url_for("designer.datasets", bot_id=bot_id))


@bp.post("/bots/<bot_id>/datasets/<name>/pull")
def dataset_pull(bot_id: str, name: str):
    get_bot_or_404(bot_id)
    try:
        pull.request_pull(bot_id, name)
    except store.DatasetNotFound as e:
        abort(404, str(e))
    except store.DatasetError as e:
        return _page(bot_id, 422, str(e))
    flash(f"Pulling {name} now, in the background; reload in a moment to see the rows.")
    return redirect(url_for("designer.datasets", bot_id=bot_id))
