"""The plain web pages of the runtime: a health check for load balancers and the favicon. (The home page, `/`,
is the designer's: designer/home.py.)"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from runtime.extensions import db

bp = Blueprint("web", __name__)


@bp.get("/healthz")
def healthz() -> dict:
    """Healthy means the database answers: without it no turn can run."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        abort(503, "The database does not answer.")
    return {"status": "ok"}


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever a page says; pages link it (templates/_favicon.html) and an SVG."""
    return current_app.send_static_file("favicon.ico")
