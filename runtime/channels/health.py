"""The plain web pages of the runtime: a health check for load balancers and a list of the bots."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from runtime.extensions import db
from runtime.store.bots import list_bots

bp = Blueprint("web", __name__)


@bp.get("/healthz")
def healthz() -> dict:
    """Healthy means the database answers: without it no turn can run."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        abort(503, "The database does not answer.")
    return {"status": "ok"}


@bp.get("/")
def index() -> str:
    return render_template("index.html", bots=list_bots())
