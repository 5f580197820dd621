"""Signing in: Flask-Login sessions, the first-run page that makes the first admin, the users page
(admins only), the `flask users create` command, and the guard every designer request passes.

A session ends after DESIGNER_IDLE_MINUTES without a request, and on every device at once when its user signs
out or their password changes (a session generation on the user row, checked by the user loader). Failed
sign-ins are limited per account and per address (DESIGNER_SIGNIN_ACCOUNT_LIMIT, DESIGNER_SIGNIN_ADDRESS_LIMIT);
the page says when to try again. The session cookie is SameSite=Lax, and Secure over HTTPS
(SESSION_COOKIE_SECURE: auto, on or off). Every designer page sends a Content-Security-Policy (no framing, no
script from elsewhere), X-Frame-Options, Referrer-Policy and nosniff. An htmx request that arrives after
that gets 401 with a fresh CSRF token instead of a redirect, so the page can ask for the password in
place and send the edit again: nothing typed is lost.

Agents (the `agent` role) see the agent console only: every other designer page refuses them with 403.
The console's views say so with `for_agents`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from functools import wraps

import click
from flask import (
    Flask,
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.cli import AppGroup
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf
from htmx_flask import make_response
from markupsafe import escape

from designer import bp, csrf
from runtime import ratelimit
from runtime.store import bot_access
from runtime.store.accounts import (
    ROLES,
    AccountError,
    User,
    create_user,
    find_user,
    has_users,
    list_users,
    load_session_user,
    normalize_email,
    revoke_sessions,
    set_password,
)
from runtime.store.bots import BotNotFound

login_manager = LoginManager()
OPEN_VIEWS = {"designer.signin", "designer.first_run"}
AGENT_VIEWS = {"designer.signout"}
AGENTS_ONLY = "This page is not part of the agent console. Agents answer handed-over conversations there."


SIGNIN_LIMITS = {"DESIGNER_SIGNIN_ACCOUNT_LIMIT": "10 per 15 minutes",
                 "DESIGNER_SIGNIN_ADDRESS_LIMIT": "20 per 15 minutes"}
# The designer's own scripts and styles; its templates use inline handlers and htmx's hx-on (evaluated as
# functions), so inline scripts and eval stay allowed; nothing loads from elsewhere, no page frames it.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob: https:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
                    "X-Content-Type-Options": "nosniff"}


class Sessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, Secure when SESSION_COOKIE_SECURE says so: `auto` (the default, and
    Flask's own default False) when the request came over HTTPS, `on` always, `off` never."""

    def get_cookie_secure(self, app: Flask) -> bool:
        setting = str(app.config.get("SESSION_COOKIE_SECURE")).strip().lower()
        if setting in ("on", "true", "1", "yes"):
            return True
        if setting in ("off", "0", "no"):
            return False
        return bool(has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    app.config["DESIGNER_IDLE_MINUTES"] = float(app.config.get("DESIGNER_IDLE_MINUTES") or 8 * 60)
    for name, value in SIGNIN_LIMITS.items():
        app.config[name] = app.config.get(name) or os.environ.get(name) or value
    if os.environ.get("SESSION_COOKIE_SECURE") and app.config.get("SESSION_COOKIE_SECURE") is False:
        app.config["SESSION_COOKIE_SECURE"] = os.environ["SESSION_COOKIE_SECURE"]
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.session_interface = Sessions()
    ratelimit.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_session_user)
    app.cli.add_command(users)


@bp.after_app_request
def security_headers(response):
    """Every designer page and partial (its error pages too): the policy above, no framing, no referrer to other
    sites, no sniffing."""
    if request.blueprint != bp.name and not request.path.startswith(bp.url_prefix or "/designer"):
        return response
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


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
    if request.htmx:  # swapped in or shown as text; it may quote the URL (a made-up id): escaped
        return escape(message), 404
    return render_template("designer/error.html", code=404, title="Not found", message=message), 404


def _safe_next(target: str | None, user: User) -> str:
    """Where to go after signing in: the page asked for, if it is the designer's (the console's, for an agent)."""
    home = url_for("designer.console") if user.is_agent else url_for("designer.bot_list")
    if target and target.startswith(home if user.is_agent else "/designer") and not target.startswith("//") \
            and target.isprintable() and "\\" not in target:  # no CR/LF (a header split), no other control
        return target
    return home


def _signin_wait(email: str) -> int:
    """Seconds before this address, or this account, may try to sign in again; 0 when it may now."""
    return max(ratelimit.wait("designer-signin-address", "DESIGNER_SIGNIN_ADDRESS_LIMIT"),
               ratelimit.wait("designer-signin-account", "DESIGNER_SIGNIN_ACCOUNT_LIMIT", key=email))


def _failed_signin(email: str) -> None:
    ratelimit.count("designer-signin-address", "DESIGNER_SIGNIN_ADDRESS_LIMIT")
    ratelimit.count("designer-signin-account", "DESIGNER_SIGNIN_ACCOUNT_LIMIT", key=email)


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if not has_users():
        return redirect(url_for("designer.first_run"))
    error, status, headers = None, 400, {}
    if request.method == "POST":
        email = normalize_email(request.form.get("email", ""))
        wait = _signin_wait(email)
        user = None if wait else find_user(email)
        if wait:
            minutes = math.ceil(wait / 60)
            error = (f"Too many failed sign-ins for this account or from this address. Try again in "
                     f"{minutes} minute{'s' if minutes != 1 else ''}.")
            status, headers = 429, {"Retry-After": str(wait)}
        elif user is None or not user.check_password(request.form.get("password", "")):
            _failed_signin(email)
            error = "That e-mail and password do not match a user. Check them and try again."
        else:
            login_user(user)
            session.permanent = True
            session["seen"] = time.time()
            if request.headers.get("X-Signin-Inline"):
                return {"ok": True, "csrf": generate_csrf()}
            return redirect(_safe_next(request.form.get("next"), user))
        if request.headers.get("X-Signin-Inline"):
            return {"ok": False, "error": error}, status, headers
    return render_template("designer/signin.html", error=error, next=request.values.get("next", "")), \
        status if error else 200, headers


@bp.post("/signout")
def signout():
    """Sign out everywhere: the session's generation is bumped, so a copy of this cookie no longer works."""
    if current_user.is_authenticated:
        revoke_sessions(current_user)
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


@users.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def password_command(email: str, password_stdin: bool) -> None:
    """Set a new password for EMAIL; every session signed in before ends."""
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        user = set_password(email, password)
    except AccountError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"New password set for {user.email}; their sessions were ended.")
