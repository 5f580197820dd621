"""The designer: the web pages where people build, try and publish bots (Flask blueprint, htmx), and the
home page that leads into them (`home`).

`init_app` wires sign-in (Flask-Login), CSRF protection of every designer form and htmx request
(Flask-WTF), htmx-aware requests and the `flask users` command, and registers the blueprint.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

bp = Blueprint("designer", __name__, url_prefix="/designer")
csrf = CSRFProtect()


@bp.context_processor
def _helpers() -> dict:
    """The editor's words and tree helpers, and the word on a bot's draft, for every designer template."""
    from designer import labels, tree
    from runtime.store.bots import draft_status

    def dialog_of(doc: dict, dialog_id: str | None) -> dict | None:
        return next((d for d in doc.get("dialogs", []) if d.get("id") == dialog_id), None)

    return {"summary": labels.summary, "badge": labels.badge, "type_title": labels.type_title,
            "branch_label": labels.branch_label, "slots": tree.slots, "dialog_of": dialog_of,
            "draft_status": draft_status}


def init_app(app: Flask) -> None:
    """Bind the designer's extensions and pages to the app."""
    from designer import (  # noqa: F401
        accounts,
        advanced,
        agents,
        apidocs,
        bots,
        botusers,
        datasets,
        developers,
        editor,
        home,
        insight,
        inspector,
        integration_step,
        integrations,
        messages,
        people,
        platforms,
        preview,
        qa,
        queue,
        settings,
        share,
        translations,
        versions,
        webhooks,
    )

    # The Direct Line API and other machine endpoints take bearer credentials, not cookies: only the
    # designer's views check CSRF tokens (in `accounts.guard`).
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    csrf.init_app(app)
    Htmx().init_app(app)
    accounts.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(home.bp)
