"""A bot's own host name: with `ARBOR_BOT_HOST=<bot>.bots.example`, `support.bots.example` is the bot
`support`'s base URL, as a Feedbot bot answers on `feedbot-<id>.azurewebsites.net`: the API book's paths
(`POST /api/management/trigger/{address}/{dialog}/{mode?}`, `GET /api/management/export/userData`) work there
with no `/b/<bot>` prefix.

A WSGI step before Flask's routing: on a bot's host, a path that names a route under `/b/<bot>` is served as
that route (the request's path is rewritten; nothing else changes), and every other path (`/v3/directline`,
`/static`, `/api/openapi.json`, `/b/<bot>/...` itself) as it is. It sits inside ProxyFix, so behind trusted
proxies it sees the host the client asked for. A host of the pattern whose bot does not exist gets a 404 JSON
error for every path: that lookup reads the database, so it runs inside Flask's request (the first
`before_request`), where a database that does not answer gets the same 503 with Retry-After as every other
path (runtime/store/outage.py), not the WSGI server's bare 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from flask import Flask, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from runtime.extensions import db
from runtime.store.models import Bot

PLACEHOLDER = "<bot>"
BOT_ID = r"[a-z0-9][a-z0-9-]{0,63}"  # a bot id is a DNS label already (runtime/botdoc/schema.py)
HOST_BOT = "arbor.host_bot"  # the WSGI environ key naming the bot whose host the request came to


def pattern(setting: str) -> re.Pattern[str]:
    """The host names of `setting` (`<bot>.bots.example`), any port; ValueError saying how to write it."""
    setting = setting.strip().lower()
    if setting.count(PLACEHOLDER) != 1 or not re.fullmatch(r"[a-z0-9.<>-]+", setting):
        raise ValueError(f"ARBOR_BOT_HOST must be a host name with {PLACEHOLDER} once where the bot's id goes, such "
                         f"as {PLACEHOLDER}.bots.example; not {setting!r}.")
    head, tail = (re.escape(part) for part in setting.split(PLACEHOLDER))
    return re.compile(rf"{head}(?P<bot>{BOT_ID}){tail}(:[0-9]+)?")


class BotHosts:
    """The WSGI step: serve `<bot>.<domain>/P` as `/b/<bot>/P` where that is a route, the bot named in the
    environ for `refuse_a_host_of_no_bot`."""

    def __init__(self, app: Flask, wsgi_app: Callable, hosts: re.Pattern[str]):
        self.app, self.wsgi_app, self.hosts = app, wsgi_app, hosts

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        host = (environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "").lower()
        found = self.hosts.fullmatch(host)
        if found is None:
            return self.wsgi_app(environ, start_response)
        bot = found["bot"]
        environ = {**environ, HOST_BOT: bot}
        path = environ.get("PATH_INFO") or "/"
        if self._routed(f"/b/{bot}{path}", environ.get("REQUEST_METHOD", "GET")):
            environ["PATH_INFO"] = f"/b/{bot}{path}"
        return self.wsgi_app(environ, start_response)

    def _routed(self, path: str, method: str) -> bool:
        """Whether some route takes `path` (with any method: a wrong one is then the route's 405)."""
        try:
            self.app.url_map.bind("localhost").match(path, method)
        except (MethodNotAllowed, RequestRedirect):
            return True
        except NotFound:
            return False
        return True


def refuse_a_host_of_no_bot() -> tuple[dict, int] | None:
    """A 404 JSON error, whatever the path, on the host of a bot that does not exist."""
    bot = request.environ.get(HOST_BOT)
    if bot is None or db.session.get(Bot, bot) is not None:
        return None
    return {"error": {"code": "NotFound", "message": (
        f"There is no bot '{bot}' at {request.host.lower()}: the host names a bot by its id (ARBOR_BOT_HOST); "
        f"check the bot's id in the designer.")}}, 404


def serve_on_bot_hosts(app: Flask) -> None:
    """Serve bots on their own host names when ARBOR_BOT_HOST is set (call before ProxyFix wraps the app, and
    before any other `before_request`, so a host of no bot is refused first)."""
    setting = app.config.get("ARBOR_BOT_HOST")
    if setting:
        app.wsgi_app = BotHosts(app, app.wsgi_app, pattern(setting))
        app.before_request(refuse_a_host_of_no_bot)
