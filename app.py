"""Arbor's application factory: `flask --app app run` (Flask finds `create_app`), or `python app.py`.

Nothing is built at import: tests and workers each call `create_app` with the configuration they need.
"""

from __future__ import annotations

import atexit
import errno
import json
import os
import re
import secrets
import signal
import socket
import sys
from pathlib import Path

from flask import Flask, Response, request
from flask.sessions import SessionMixin
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from werkzeug.serving import LISTEN_QUEUE, BaseWSGIServer, make_server, select_address_family

import designer
from designer import accounts
from runtime import cli, datasets, integrations, jobs, management, messaging, turns, webhooks
from runtime.bot_host import serve_on_bot_hosts
from runtime.botdoc import MAX_DOCUMENT_BYTES
from runtime.channels import demo, directline, health, live, platforms
from runtime.extensions import db, migrate
from runtime.jobs import embedded, timers
from runtime.jobs.worker import start_beside, worker_command
from runtime.store import bots, outage, schema

# Read from the environment when no test configuration is given.
ENVIRONMENT = ("SECRET_KEY", "ARBOR_DATA", "DATABASE_URL", "DATABASE_POOL", "DATABASE_POOL_TIMEOUT", "REDIS_URL",
               "ARBOR_REDIS_PREFIX", "ARBOR_MAX_DOCUMENT_BYTES", "ARBOR_MAX_STEPS", "DIRECTLINE_TOKEN_TTL",
               "DIRECTLINE_MAX_BODY_BYTES",
               "WEBCHAT_TOKEN_RATE_LIMIT", "MANAGEMENT_AUTH_FAILURE_LIMIT", "MANAGEMENT_MAX_BODY_BYTES",
               "ARBOR_BASE_URL", "DESIGNER_IDLE_MINUTES", "OUTBOUND_ALLOW_HOSTS", "INTEGRATIONS_ALLOW_HOSTS",
               "INTEGRATIONS_MAX_RESPONSE_BYTES", "INTEGRATIONS_ENABLED", "INTEGRATIONS_DISABLED",
               "INTEGRATIONS_TEMPLATE_DIRS", "PLATFORM_MAX_BODY_BYTES", "WORKER_LOG_LEVEL", "TRUSTED_PROXIES",
               "TWILIO_API_URL", "ARBOR_BOT_HOST", "DIRECTLINE_STREAM_BASE", "DIRECTLINE_STREAM_KEEPALIVE")
DATABASE_POOL = 15  # connections one process may open at most (SQLAlchemy's default: 5 kept, 10 more under load)
DATABASE_POOL_TIMEOUT = 30  # seconds a request waits for one to come free before its 503 (SQLAlchemy's default)
# Paths answered with JSON errors: Direct Line, the per-bot APIs and platform hooks, health checks.
API_PATH = re.compile(r"^/(v3|api|healthz)(/|$)|^/b/[^/]+/(api|webchat|hooks)(/|$)")


def create_app(test_config: dict | None = None) -> Flask:
    """Build a configured app: extensions bound, database migrated, blueprints and CLI commands registered."""
    app = Flask(__name__)
    app.url_map.converters.update(int=DatabaseInt, bigint=DatabaseBigInt)  # before any rule is added
    app.config.update(ARBOR_DATA=app.instance_path, REDIS_URL=None,
                      ARBOR_MAX_DOCUMENT_BYTES=MAX_DOCUMENT_BYTES, AUTO_MIGRATE=True)
    if test_config is None:
        app.config.update({name: os.environ[name] for name in ENVIRONMENT if os.environ.get(name)})
    else:
        app.config.update(test_config)
    _derive(app)
    serve_on_bot_hosts(app)  # inside ProxyFix: it reads the host the client asked for
    if app.config["TRUSTED_PROXIES"]:  # the client's address, scheme and host as the proxies in front saw them
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db)
    bots.init_app(app)
    jobs.init_app(app)
    turns.init_app(app)  # the registry of effect handlers, before the features that fill it
    timers.init_app(app)
    webhooks.init_app(app)
    datasets.init_app(app)
    with app.app_context():
        schema.tune_sqlite(db.engine)
    if app.config["AUTO_MIGRATE"]:
        schema.upgrade(app)

    app.register_blueprint(health.bp)
    live.init_app(app)
    directline.init_app(app)
    platforms.init_app(app)
    app.register_blueprint(demo.bp)
    management.init_app(app)
    messaging.init_app(app)
    app.register_error_handler(HTTPException, _http_error)
    outage.init_app(app)  # a database that does not answer: 503 with Retry-After
    cli.register(app)
    app.cli.add_command(worker_command)
    integrations.init_app(app)
    designer.init_app(app)
    app.session_interface = _PageSessions()  # after the designer's, which it extends
    return app


class DatabaseInt(IntegerConverter):
    """`<int:...>` in a URL: an id the database can hold (a 32-bit integer column); a larger number matches no
    route (404) instead of reaching the database, which refuses it (SQLite: OverflowError, a 500)."""

    MOST = 2**31 - 1

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, self.MOST if max is None else max, signed)


class DatabaseBigInt(DatabaseInt):
    """`<bigint:...>`: an id of a 64-bit column (BigId: webhook deliveries, log rows), which passes 2**31 in a
    busy bot's life; past 2**63 - 1 no route matches."""

    MOST = 2**63 - 1


class _PageSessions(accounts.Sessions):
    """The designer's signed-cookie sessions. API requests (API_PATH) carry a bearer credential or a key and
    never use a session: they get none, which spares every Direct Line request the cookie parsing and
    signing serializer Flask builds for each request (a twentieth of a chat turn's CPU)."""

    def open_session(self, app: Flask, request) -> SessionMixin | None:
        if API_PATH.match(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)


def _derive(app: Flask) -> None:
    """Settings that follow from others: the data folder, the secret key kept in it, the database URL."""
    config = app.config
    data = Path(config["ARBOR_DATA"])
    data.mkdir(parents=True, exist_ok=True)
    config["ARBOR_MAX_DOCUMENT_BYTES"] = int(config["ARBOR_MAX_DOCUMENT_BYTES"])
    config["TRUSTED_PROXIES"] = _trusted_proxies(config.get("TRUSTED_PROXIES") or 0)
    config["SECRET_KEY"] = config["SECRET_KEY"] or _kept_secret_key(data / "secret_key")
    if "SQLALCHEMY_DATABASE_URI" not in config:
        url = config.get("DATABASE_URL") or f"sqlite:///{data.resolve() / 'arbor.db'}"
        config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(url)
    if ":memory:" not in config["SQLALCHEMY_DATABASE_URI"]:  # one connection, shared: no pool to size
        pool = _pool(config.get("DATABASE_POOL") or DATABASE_POOL,
                     config.get("DATABASE_POOL_TIMEOUT") or DATABASE_POOL_TIMEOUT)
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {**pool, **config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}


def _pool(given_most: object, given_timeout: object) -> dict:
    """The connection pool of one process: at most `given_most` connections to the database (5 kept open, the
    rest opened under load and closed again, as SQLAlchemy's defaults do for 15), a request waiting up to
    `given_timeout` seconds for one to come free. Every web, stream and worker process has its own: PostgreSQL's
    max_connections must hold them all (docs/configuration.md)."""
    try:
        most = int(given_most)
    except (TypeError, ValueError):
        most = 0
    if most < 2:  # PostgreSQL's schema upgrade at start holds its lock on one connection and migrates on another
        raise ValueError(f"DATABASE_POOL must be a whole number of database connections one process may open "
                         f"(2 or more; {DATABASE_POOL} if not set), not {given_most!r}.")
    try:
        timeout = int(given_timeout)  # whole seconds: SQLAlchemy's engine_from_config reads the timeout as an int
    except (TypeError, ValueError):
        timeout = 0
    if timeout < 1:
        raise ValueError(f"DATABASE_POOL_TIMEOUT must be the whole seconds a request may wait for a database "
                         f"connection (1 or more; {DATABASE_POOL_TIMEOUT} if not set), not {given_timeout!r}.")
    kept = min(5, most)
    return {"pool_size": kept, "max_overflow": most - kept, "pool_timeout": timeout}


def _trusted_proxies(value: object) -> int:
    """How many reverse proxies in front of Arbor set X-Forwarded-For/-Proto/-Host (0: none, the headers are
    ignored, since any client could send them)."""
    try:
        hops = int(value)
    except (TypeError, ValueError):
        hops = -1
    if hops < 0:
        raise ValueError(f"TRUSTED_PROXIES must be a whole number of proxies in front of Arbor (0 for none), "
                         f"not {value!r}.")
    return hops


def normalize_database_url(url: str) -> str:
    """Hosting platforms hand out `postgres://` URLs; SQLAlchemy needs the driver named (psycopg 3)."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)


def _kept_secret_key(path: Path) -> str:
    """A random key made once and kept in the data folder, so sessions and tokens survive restarts.

    Written aside, then linked into place: of several processes starting at once, one key wins whole.
    """
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _http_error(error: HTTPException) -> Response | HTTPException:
    """API clients get `{"error": {"code", "message"}}`, never an HTML page or a traceback."""
    if not (API_PATH.match(request.path) or request.is_json):
        return error
    response = error.get_response()  # keeps headers such as Allow and Retry-After
    body = {"error": {"code": error.name.replace(" ", ""), "message": error.description}}
    response.set_data(json.dumps(body))
    response.content_type = "application/json"
    return response


def main() -> None:
    """`python app.py`: everything a newcomer needs on one machine, with the example bots loaded.

    Web server, embedded Redis (unless REDIS_URL names one) and a background worker start together and
    stop together: on Ctrl-C, SIGTERM and SIGHUP through atexit (the worker first, then Redis), and when this
    process is killed outright through the parent-death signal the two children get.

    Example bots imported now may open chats from this server's own pages (the demo page), so a
    newcomer can try the widget at once; any other site is allowed in the bot's Share panel (or `bots origins`).
    """
    from runtime.channels.directline.cors import set_allowed_origins
    from runtime.store.accounts import has_users
    from runtime.store.examples import import_examples

    for signum in (signal.SIGTERM, signal.SIGHUP):  # from here on, whatever starts is stopped through atexit
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by the launcher (nohup): left so
            signal.signal(signum, _exit_once)
    app = create_app()
    host = os.environ.get("ARBOR_HOST", "127.0.0.1")
    web = _listening(app, host, os.environ.get("ARBOR_PORT", "5000"))
    if not app.config["REDIS_URL"]:
        try:
            server = embedded.start(Path(app.config["ARBOR_DATA"]))
        except embedded.InUse as e:
            sys.exit(f"Arbor did not start: {e}")
        app.config["REDIS_URL"] = server.url
        atexit.register(server.stop)  # registered before the worker's stop, so it runs after it
    port = web.port
    base = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    with app.app_context():
        imported = import_examples(Path(app.root_path) / "examples")
        for bot_id in imported:
            set_allowed_origins(bot_id, [base, f"http://localhost:{port}", f"http://127.0.0.1:{port}"])
        names = [bot.id for bot in bots.list_bots()]
        first_run = not has_users()
    start_beside(app)
    print(_banner(base, names, first_run), flush=True)
    web.serve_forever()  # a Ctrl-C ends it quietly, and atexit stops the rest


def _listening(app: Flask, host: str, port: str) -> BaseWSGIServer:
    """The web server, already listening, before anything else starts: a port in use is said at once and plainly
    (with `app.run` the banner said Arbor was running, then werkzeug said the port was taken, and the process
    exited 0). Port 0 takes any free port; the banner says which."""
    if not port.isdigit() or int(port) > 65535:
        sys.exit(f"Arbor did not start: ARBOR_PORT is {port!r}; give a port number from 1 to 65535 (0: any free one).")
    try:  # bound here, not by werkzeug, which prints its own words and exits on a port in use
        with socket.create_server((host, int(port)), family=select_address_family(host, int(port)),
                                  backlog=LISTEN_QUEUE) as listening:
            return make_server(host, int(port), app, threaded=True, fd=listening.fileno())  # it keeps a copy
    except OSError as e:
        what = f"port {port} on {host} is in use by another program: stop that program, or start Arbor on " \
               f"another port, e.g. ARBOR_PORT={int(port) + 1} make run" if e.errno == errno.EADDRINUSE else \
               f"it cannot listen on {host}:{port} ({e.strerror}): check ARBOR_HOST and ARBOR_PORT"
        sys.exit(f"Arbor did not start: {what}.")


def _banner(base: str, names: list[str], first_run: bool) -> str:
    """What `make run` prints once everything is up: where to go first, and how to stop."""
    designer_step = "first run: create the administrator's account there" if first_run else "sign in"
    lines = [f"Arbor is running on {base}/", "",
             f"  Designer    {base}/designer/   ({designer_step})"]
    if names:
        demo = "support" if "support" in names else names[0]
        others = [name for name in names if name != demo]
        lines.append(f"  Try a bot   {base}/b/{demo}/demo" + (f"   (also {', '.join(others)})" if others else ""))
    lines += [f"  API docs    {base}/api/docs",
              "  Chat in the terminal: .venv/bin/flask --app app bots chat "
              + ("lead-capture" if "lead-capture" in names else names[0] if names else "BOT"), "",
              "Ctrl-C stops the web server, the worker and the embedded Redis together."]
    return "\n".join(lines)


def _exit_once(*_: object) -> None:
    """On SIGTERM or SIGHUP, exit through atexit (which stops the worker and Redis), deaf to a second signal
    (or a Ctrl-C) meanwhile."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    sys.exit(0)


if __name__ == "__main__":
    main()
