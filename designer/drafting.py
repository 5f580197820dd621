"""One edit of the draft from an htmx request: check the revision the page was on, change, save.

The page sends the draft revision it shows in the `X-Draft-Revision` header; the answer carries the
new one. A page behind the draft (a second tab saved meanwhile) gets 409 and a message, never an
overwrite; an edit that cannot be made gets 422 saying why (404 when the step or dialog its URL names is
not in the draft).
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable
from typing import TypeVar

from flask import abort, current_app, g, make_response, request
from flask_login import current_user

from designer import tree
from designer.tree import EditError
from runtime import botdoc
from runtime.store import bots
from runtime.store.drafts import StaleDraft, load_draft, save_draft, undo_label

T = TypeVar("T")
HEADER = "X-Draft-Revision"
UNDO = "X-Draft-Undo"
UNCHANGED = object()  # what a change returns when the document stays as it was: nothing is saved


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def page_revision() -> int | None:
    raw = request.headers.get(HEADER) or request.form.get("revision")
    return int(raw) if raw and raw.isdigit() else None


def current(bot_id: str) -> tuple[dict, int]:
    """The draft, in the current format where it can be read as one (so an edit never writes a newer field
    into an older document), and its revision; 404 for an unknown bot."""
    try:
        doc, revision = load_draft(bot_id)
    except bots.BotNotFound as e:
        abort(404, str(e))
    try:
        return botdoc.migrate(doc), revision
    except botdoc.DocumentError:  # a broken import kept as the draft: shown and fixed as it is
        return doc, revision


class LastSaved:
    """The document each bot's last edit in this process saved, with its revision.

    An edit made on that same revision starts from it instead of reading and parsing the whole draft
    again (most of an edit's time on a big bot). It is safe across processes: the save still checks the
    revision in the database, and a revision names one document only. An edit takes the document out
    while it changes it, so two requests never change one object.
    """

    def __init__(self, size: int = 32):
        self.size, self.items, self.lock = size, {}, threading.Lock()

    def take(self, bot_id: str, revision: int | None) -> tuple[dict | None, set[str] | None]:
        """The document saved at `revision` and the ids it holds (if known), or (None, None)."""
        with self.lock:
            kept = self.items.pop(bot_id, None)
        return kept[1:] if kept and kept[0] == revision else (None, None)

    def keep(self, bot_id: str, revision: int, doc: dict, ids: set[str] | None) -> None:
        with self.lock:
            self.items[bot_id] = (revision, doc, ids)
            while len(self.items) > self.size:
                self.items.pop(next(iter(self.items)))


def edit(bot_id: str, label: str, change: Callable[[dict], T]) -> tuple[dict, int, T]:
    """Apply `change` to the draft and save it; (document, new revision, what change returned).

    Raises Refused (409 stale page, 404 a step or dialog the URL names is not in the draft, 422 impossible edit).
    """
    last: LastSaved = current_app.extensions.setdefault("arbor.designer.last_saved", LastSaved())
    seen = page_revision()
    doc, known_ids = last.take(bot_id, seen)
    g.designer_ids = (doc, known_ids) if known_ids is not None else None
    if doc is None:
        doc, revision = current(bot_id)
        if seen is not None and seen != revision:
            raise Refused(409, stale_message())
    else:
        revision = seen
    try:
        result = change(doc)
    except EditError as e:
        raise Refused(status_of(e), str(e)) from None
    if result is UNCHANGED:
        last.keep(bot_id, revision, doc, None)
        return doc, revision, result
    try:
        new = save_draft(bot_id, doc, revision, label=label, by=current_user.email)
    except StaleDraft:
        raise Refused(409, stale_message()) from None
    except bots.BotNotFound as e:
        abort(404, str(e))
    ids = g.get("designer_ids")
    last.keep(bot_id, new, doc, ids[1] if ids and ids[0] is doc else None)
    return doc, new, result


def status_of(error: EditError) -> int:
    """404 when what is not in the draft is what the URL names (`/steps/<step_id>`, `/dialogs/<dialog_id>`), else
    422: a place or target the form names is part of a request that cannot be made as it stands."""
    named = {value for key, value in (request.view_args or {}).items() if key != "bot_id"}
    return 404 if isinstance(error, tree.NotInDraft) and error.missing in named else 422


def taken_ids(doc: dict) -> set[str]:
    """The ids in use in the draft being edited: kept from the last edit when it saved this document, so a
    new step's id is checked without scanning a big bot again. Ids of deleted steps may linger in the set;
    they are only avoided."""
    known = g.get("designer_ids")
    if known is None or known[0] is not doc:
        g.designer_ids = (doc, tree.ids(doc))
    return g.designer_ids[1]


def stale_message() -> str:
    return ("This bot was changed in another tab or by someone else since this page loaded. "
            "Your last change was not saved. Reload the page to get the latest version, then make it again.")


def answer(body: str, revision: int | None = None, status: int = 200, **headers):
    """An htmx answer; with the draft `revision` the page now shows, also what Undo would take back (the
    UNDO header: the last change's label as JSON, null when there is nothing to undo) for the toolbar."""
    response = make_response(body, status)
    if revision is not None:
        response.headers[HEADER] = str(revision)
        response.headers[UNDO] = json.dumps(undo_label(request.view_args["bot_id"]))
    for key, value in headers.items():
        response.headers[key.replace("_", "-")] = value
    return response


def refused(error: Refused):
    """The refusal as the page shows it: swapped in as HTML next to the form, so what it quotes of the input (a
    dialog's id, a name) is escaped."""
    return answer(html.escape(error.message, quote=False), status=error.status)
