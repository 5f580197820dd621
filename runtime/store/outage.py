"""A database that does not answer (stopped, restarting, out of reach), or no connection of the process's pool
free in time: the request gets 503 with Retry-After and a message saying so, not a 500.

Nothing a refused request carried was applied: its transaction never committed (and when the connection broke
during the commit itself, the same activity sent again finds its client key and gets its first answer back). So
a client that sends the same activity again after Retry-After, as the webchat does (static/webchat.js, with the
same clientActivityID), loses nothing and doubles nothing (tests/faults/test_database_restarted.py).
"""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, Response, current_app
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import ServiceUnavailable

from runtime.extensions import db

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 2
MESSAGE = "The database does not answer just now; nothing was applied. Send the same request again in a few seconds."
BUSY = "The server is busy just now; nothing was applied. Send the same request again in a few seconds."
# What the database raises when it cannot be used just now (an OperationalError may also be a real mistake:
# `is_outage` tells), for code that reads it after the answer is made and must not turn a 503 into a 500.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
# PostgreSQL: no connection (class 08), the server shutting down or starting (57P01-57P03); a driver error with
# no SQLSTATE is one from the connection itself (refused, closed). SQLite: the file busy, locked or unreadable.
_PG_OUTAGE = ("08", "57P01", "57P02", "57P03")
_SQLITE_OUTAGE = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR"}


def init_app(app: Flask) -> None:
    app.register_error_handler(OperationalError, _refuse)
    app.register_error_handler(InterfaceError, _refuse)
    app.register_error_handler(PoolTimeout, _busy)


def is_outage(error: DBAPIError) -> bool:
    """Whether `error` says the database is away (worth trying again), rather than that the request was wrong."""
    if error.connection_invalidated:
        return True
    name = getattr(error.orig, "sqlite_errorname", None)
    if name is not None:
        return name in _SQLITE_OUTAGE
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(_PG_OUTAGE)


def _busy(error: PoolTimeout) -> Response:
    """Every connection of the process's pool stayed in use for the pool's timeout (DATABASE_POOL): more requests
    at once than the pool serves, or a database too slow to give them back. Nothing was applied either."""
    log.warning("no database connection came free in time (%s): request refused with 503; see DATABASE_POOL",
                str(error.args[0])[:200])
    return current_app.handle_http_exception(ServiceUnavailable(BUSY, retry_after=RETRY_AFTER_SECONDS))


def _refuse(error: DBAPIError) -> Response:
    if not is_outage(error):
        raise error  # a real error: Flask's 500, logged with its traceback
    log.warning("the database does not answer (%s): request refused with 503", str(error.orig).strip()[:200])
    with contextlib.suppress(Exception):  # the broken transaction is let go: hooks after this one start afresh
        db.session.rollback()
    return current_app.handle_http_exception(ServiceUnavailable(MESSAGE, retry_after=RETRY_AFTER_SECONDS))
