"""Signing in: Flask-Login sessions, the first-run page that makes the first admin, the users page
(admins only), the `flask users create` command, and the guard every designer request passes.

A session ends after DESIGNER_IDLE_MINUTES without a request. An htmx request that arrives after
that gets 401 with a fresh CSRF token instead of a redirect, so the page can ask for the password in
place and send the edit again: nothing typed is lost.

Agents (the `agent` role) see the agent console only: every other designer page refuses them with 403.
The console's views say so with `for_agents`.
"""

from __future__ import annotations

import sys
import time
from functools import wraps

import click
from flask import Flask, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.cli import AppGroup
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf
from htmx_flask import make_response

from designer import bp, csrf
from runtime.extensions import db
from runtime.store import bot_access
from runtime.store.accounts import ROLES, AccountError, User, create_user, find_user, has_users, list_users
from runtime.store.bots import BotNotFound

login_manager = LoginManager()
OPEN_VIEWS = {"designer.signin", "designer.first_run"}
AGENT_VIEWS = {"designer.signout"}
AGENTS_ONLY = "This page is not part of the agent console. Agents answer handed-over conversations there."


def init_app(app: Flask) -> None:
    app.config["DESIGNER_IDLE_MINUTES"] = float(app.config.get("DESIGNER_IDLE_MINUTES") or 8 * 60)
    login_manager.init_app(app)
    login_manager.user_loader(lambda user_id: db.session.get(User, int(user_id)) if user_id.isdigit() else None)
    app.cli.add_command(users)


@bp.before_request
def guard():
    """CSRF on every unsafe request; a signed-in, not idle user on every page but sign-in and first run;
    an agent only on the console's pages; on every page of one bot (a `bot_id` in the URL), a user who may
    open that bot."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    if request.endpoint in OPEN_VIEWS or (request.endpoint or "").endswith(".static"):
        return None
    now = time.time()
    idle = current_app.config["DESIGNER_IDLE_MINUTES"] * 60
    if current_user.is_authenticated and now - session.get("seen", now) > idle:
        logout_user()
    if not current_user.is_authenticated:
        return _sign_in_needed()
    session["seen"] = now
    if current_user.is_agent and request.endpoint not in AGENT_VIEWS:
        abort(403, AGENTS_ONLY)
    bot_id = (request.view_args or {}).get("bot_id")
    if bot_id is not None and not bot_access.can_open(current_user, bot_id):
        abort(404, str(BotNotFound(bot_id)))  # as if there were no such bot: editors don't learn others' bot ids
    return None


def _sign_in_needed():
    if request.htmx:
        response = make_response("Your session ended. Sign in again to go on; your change is kept.", 401)
        response.headers["X-Signin-Required"] = "1"
        response.headers["X-CSRF-Token"] = generate_csrf()
        return response
    if not has_users():
        return redirect(url_for("designer.first_run"))
    return redirect(url_for("designer.signin", next=_this_page() if request.method == "GET" else None))


def _this_page() -> str:
    """The path and query of this request, to come back to after signing in. Werkzeug's `full_path` ends
    in a bare `?` when there is no query string (`/designer/?`); that `?` is left off."""
    return request.full_path if request.query_string else request.path


def for_agents(view):
    """A console view: agents may open it too (the route decorator goes above this one)."""
    AGENT_VIEWS.add(f"{bp.name}.{view.__name__}")
    return view


def admin_required(view):
    """Editors are refused (403) on pages for admins only."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.app_errorhandler(CSRFError)
def csrf_refused(error: CSRFError):
    message = f"This request was refused: {error.description} Reload the page and try again."
    if request.htmx:
        return message, 400
    return render_template("designer/error.html", code=400, title="Request refused", message=message), 400


@bp.errorhandler(403)
def forbidden(error):
    message = AGENTS_ONLY if error.description == AGENTS_ONLY else \
        "This page is for administrators. Ask an administrator if you need something here."
    if request.htmx:
        return message, 403
    return render_template("designer/error.html", code=403, title="Not allowed", message=message), 403


@bp.errorhandler(404)
def not_found(error):
    message = error.description if "not found on the server" not in error.description else "There is no such page."
    if request.htmx:
        return message, 404
    return render_template("designer/error.html", code=404, title="Not found", message=message), 404


def _safe_next(target: str | None, user: User) -> str:
    """Where to go after signing in: the page asked for, if it is the designer's (the console's, for an agent)."""
    home = url_for("designer.console") if user.is_agent else url_for("designer.bot_list")
    if target and target.startswith(home if user.is_agent else "/designer") and not target.startswith("//"):
        return target
    return home


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if not has_users():
        return redirect(url_for("designer.first_run"))
    error = None
    if request.method == "POST":
        user = find_user(request.form.get("email", ""))
        if user is None or not user.check_password(request.form.get("password", "")):
            error = "That e-mail and password do not match a user. Check them and try again."
        else:
            login_user(user)
            session.permanent = True
            session["seen"] = time.time()
            if request.headers.get("X-Signin-Inline"):
                return {"ok": True, "csrf": generate_csrf()}
            return redirect(_safe_next(request.form.get("next"), user))
        if request.headers.get("X-Signin-Inline"):
            return {"ok": False, "error": error}, 400
    return render_template("designer/signin.html", error=error, next=request.values.get("next", "")), \
        400 if error else 200


@bp.post("/signout")
def signout():
    logout_user()
    return redirect(url_for("designer.signin"))


@bp.route("/welcome", methods=["GET", "POST"])
def first_run():
    """Make the first administrator; once any user exists this page only points to sign-in."""
    if has_users():
        return redirect(url_for("designer.signin"))
    error = None
    if request.method == "POST":
        if request.form.get("password") != request.form.get("confirm"):
            error = "The two passwords differ. Type the same password twice."
        else:
            try:
                user = create_user(request.form.get("email", ""), request.form.get("password", ""), "admin")
            except AccountError as e:
                error = str(e)
            else:
                login_user(user)
                session.permanent = True
                session["seen"] = time.time()
                return redirect(url_for("designer.bot_list"))
    return render_template("designer/first_run.html", error=error, email=request.form.get("email", "")), \
        400 if error else 200


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def user_list():
    error = None
    if request.method == "POST":
        try:
            user = create_user(request.form.get("email", ""), request.form.get("password", ""),
                               request.form.get("role", "editor"))
        except AccountError as e:
            error = str(e)
        else:
            flash(f"{user.email} can now sign in as {user.role}.")
            return redirect(url_for("designer.user_list"))
    return render_template("designer/users.html", users=list_users(), roles=ROLES, error=error), \
        400 if error else 200


@click.group(cls=AppGroup, help="Manage the people who sign in to the designer.")
def users():
    pass


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_command(email: str, role: str, password_stdin: bool) -> None:
    """Create a user who signs in with EMAIL (the password is asked for, or read from stdin)."""
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, password, role)
    except AccountError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Created {user.role} {user.email}.")
