"""A bot's own host name: with `ARBOR_BOT_HOST=<bot>.bots.example`, `support.bots.example` is the bot
`support`'s base URL, as a Feedbot bot answers on `feedbot-<id>.azurewebsites.net`: the API book's paths
(`POST /api/management/trigger/{address}/{dialog}/{mode?}`, `GET /api/management/export/userData`) work there
with no `/b/<bot>` prefix.

A WSGI step before Flask's routing: on a bot's host, a path that names a route under `/b/<bot>` is served as
that route (the request's path is rewritten; nothing else changes), and every other path (`/v3/directline`,
`/static`, `/api/openapi.json`, `/b/<bot>/...` itself) as it is. A host of the pattern whose bot does not
exist gets a 404 JSON error for every path. It sits inside ProxyFix, so behind trusted proxies it sees the
host the client asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from runtime.extensions import db
from runtime.store.models import Bot

PLACEHOLDER = "<bot>"
BOT_ID = r"[a-z0-9][a-z0-9-]{0,63}"  # a bot id is a DNS label already (runtime/botdoc/schema.py)


def pattern(setting: str) -> re.Pattern[str]:
    """The host names of `setting` (`<bot>.bots.example`), any port; ValueError saying how to write it."""
    setting = setting.strip().lower()
    if setting.count(PLACEHOLDER) != 1 or not re.fullmatch(r"[a-z0-9.<>-]+", setting):
        raise ValueError(f"ARBOR_BOT_HOST must be a host name with {PLACEHOLDER} once where the bot's id goes, such "
                         f"as {PLACEHOLDER}.bots.example; not {setting!r}.")
    head, tail = (re.escape(part) for part in setting.split(PLACEHOLDER))
    return re.compile(rf"{head}(?P<bot>{BOT_ID}){tail}(:[0-9]+)?")


class BotHosts:
    """The WSGI step: serve `<bot>.<domain>/P` as `/b/<bot>/P` where that is a route."""

    def __init__(self, app: Flask, wsgi_app: Callable, hosts: re.Pattern[str]):
        self.app, self.wsgi_app, self.hosts = app, wsgi_app, hosts

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        host = (environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "").lower()
        found = self.hosts.fullmatch(host)
        if found is None:
            return self.wsgi_app(environ, start_response)
        bot = found["bot"]
        if not self._exists(bot):
            body = json.dumps({"error": {"code": "NotFound", "message": (
                f"There is no bot '{bot}' at {host}: the host names a bot by its id (ARBOR_BOT_HOST); check "
                f"the bot's id in the designer.")}}).encode()
            start_response("404 NOT FOUND", [("Content-Type", "application/json"),
                                             ("Content-Length", str(len(body)))])
            return [body]
        path = environ.get("PATH_INFO") or "/"
        if self._routed(f"/b/{bot}{path}", environ.get("REQUEST_METHOD", "GET")):
            environ = {**environ, "PATH_INFO": f"/b/{bot}{path}"}
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

    def _exists(self, bot: str) -> bool:
        with self.app.app_context():
            return db.session.get(Bot, bot) is not None


def serve_on_bot_hosts(app: Flask) -> None:
    """Serve bots on their own host names when ARBOR_BOT_HOST is set (call before ProxyFix wraps the app)."""
    setting = app.config.get("ARBOR_BOT_HOST")
    if setting:
        app.wsgi_app = BotHosts(app, app.wsgi_app, pattern(setting))
