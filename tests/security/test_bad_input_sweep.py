"""No route answers bad input with a 500 or a traceback (SECURITY.md): a sweep of every rule of `app.url_map`.

One app per test process, with the example bots, a signed-in designer (session and CSRF token), a function key,
a Direct Line conversation and its token, an Arbor JSON platform connection and its inbound token, a webhook
subscription, a dataset, a handover waiting for a person and a preview conversation. Its SQLite file is copied
once seeded and put back before each route, so what one route deletes (a bot, the session) the next still has.
Each rule and method (but HEAD and OPTIONS) gets the area's credentials, its URL variables filled with real ids
(and with made-up ones, below), and a sample of bad bodies: malformed JSON, an array, a string and a number for an
object, known fields of the wrong type (numbers, nested objects, null), forms with fields missing or garbage,
`<script>` and Jinja template injection, NUL bytes and lone surrogates, and a body a bit over the area's limit.
No answer may be >= 500 (but the 503 of a dependency that is away, ALLOWED_503), show "Traceback", or echo the
`<script>` in an HTML page unescaped; one request per route has it in every query argument the code reads.

A made-up id in the URL (a bot that does not exist; a dialog, step, webhook, delivery, key, dataset...; a number
in its column's range and one past it; a text id with markup in it, which the answer quotes escaped) is answered
exactly 404 saying what is missing: the APIs' JSON `{"error": {"code": "...NotFound", "message"}}`, the designer's
message (the sweep asks as htmx does), the public pages' own. NOT_FOUND_EXCEPTIONS names each route that answers
otherwise on purpose, and why.

Exercised without credentials: `/b/<bot_id>/botframework/messages` (a JWT from Microsoft's issuer cannot be made
here; the sweep's bots have no Bot Framework connection). Only the refusals before the upgrade are exercised
for `/v3/directline/conversations/<conversation_id>/stream` (a WebSocket: no valid stream token is sent), and
`/designer/agents/live` (a never-ending server-sent event stream) is closed as soon as it answers. No route is
skipped.

SQLite only: the per-route restore copies the database file (PostgreSQL is skipped, saying so).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.routing import Rule

from app import create_app
from runtime.channels.platforms import connections
from runtime.extensions import db
from runtime.management.keys import create_key
from runtime.steps.base import Input
from runtime.store import bots
from runtime.store.accounts import User
from runtime.store.examples import import_examples
from runtime.turns.turn import handle, start_conversation
from tests.conftest import POSTGRES_URL
from tests.designer_client import Designer
from tests.directline_client import Chat, secret_of
from tests.management import address

pytestmark = pytest.mark.skipif(POSTGRES_URL is not None, reason="the sweep restores a SQLite file per route")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert('arbor-sweep')</script>"
# A made-up id with markup in it (a URL segment holds no "/"): a 404 quoting it must quote it escaped.
MADE_UP_ID = "made-up<img src=x onerror=alert(1)>"
GARBAGE = [SCRIPT, "{{ 7*7 }}", "{% for x in range(10**9) %}x{% endfor %}", "a\x00b", "", "-1",
           "99999999999999999999999", "x" * 3000, "../../etc/passwd", "' OR 1=1 --"]
# Lone surrogates cannot be encoded by the test client: sent as the raw UTF-8 bytes Python would refuse.
SURROGATE_FORM = b"%ED%A0%80"
# What a dependency that is away is answered with, on purpose: Microsoft's issuer keys unreadable.
ALLOWED_503 = {"platforms.botframework"}
# Made-up ids answered otherwise than 404, on purpose: (endpoint, or its blueprint; the case) -> (status, why).
NOT_FOUND_EXCEPTIONS: dict[tuple[str, str], tuple[int, str]] = {
    ("management", "a made-up bot"): (401, "the key is checked before the bot: a caller without one learns no bot"),
    ("directline", "made-up ids"): (403, "a token opens its own conversation only, checked before any is looked up"),
    ("directline.stream", "made-up ids"): (400, "no stream token or upgrade is sent: refused before any lookup"),
    ("sign_in.callback", "a made-up bot"): (400, "the state is signed for the bot and checked first: not this bot's"),
    ("management.datasets_replace", "made-up ids"): (400, "PUT makes the dataset it names: the body is what is wrong"),
}
METHODS_SKIPPED = {"HEAD", "OPTIONS"}
UNMATCHED = "The requested URL was not found on the server"  # Werkzeug's 404, for a URL no rule matches


def _names(pattern: str) -> list[str]:
    """Field names the code reads (form, query, JSON), found in its source: every known field gets garbage."""
    found: set[str] = set()
    for path in [*ROOT.joinpath("designer").glob("*.py"), *ROOT.joinpath("runtime").rglob("*.py")]:
        found |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return sorted(found)


FORM_FIELDS = _names(r'form(?:\.get|\.getlist)?\(?\[?"([A-Za-z_][\w.-]{0,40})"')
QUERY_ARGS = [*_names(r'args(?:\.get|\.getlist)?\(?\[?"([A-Za-z_][\w-]{0,40})"'), "fromTimestamp", "toTimestamp",
              "notEmpty", "whereUserId"]
JSON_FIELDS = _names(r'(?:body|payload|data|activity)(?:\.get\(|\[)"([A-Za-z_]\w{0,40})"')


def resolve_nothing(host, port, *args, **kwargs):
    """Every name is loopback, which the outbound guard refuses (but platform.test, the sweep's platform)."""
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 80))]


class World:
    """The seeded app and the ids and credentials each area needs."""

    def __init__(self, app, platform: HTTPServer):
        self.app, self.client = app, app.test_client()
        self.designer = Designer(app, self.client).sign_in()
        self.designer.csrf("/designer/")
        with app.app_context():
            import_examples(ROOT / "examples")
            row, self.key = create_key("support", "sweep")
            self.key_id = row.id
            made = connections.create("support", "sweep", "Sweep", f"http://platform.test:{platform.port}/hook")
            self.platform_token = made.token
            handover, _ = start_conversation("support", "sweep-user", "webchat")
            handle(handover.id, Input.message("Talk to a person"))
            self.user_id = _user_id()
            db.session.remove()
        self.secret = secret_of(app, "support")
        chat = Chat.generate(self.client, self.secret)
        self.token, self.conversation = chat.token, chat.conversation_id
        api = {"x-functions-key": self.key}
        hook = self.client.post("/b/support/api/management/webhooks", headers=api, json={
            "url": f"http://platform.test:{platform.port}/events", "events": ["message.received"]})
        assert hook.status_code == 201, hook.text
        self.subscription = hook.json["id"]
        rows = self.client.put("/b/support/api/management/datasets/sweep", headers=api,
                               json=[{"key": "1", "fields": {"name": "one"}}])
        assert rows.status_code < 300, rows.text
        self.session = self.client.get("/b/support/api/management/handovers", headers=api).json["handovers"][0]["id"]
        self.share = self.designer.post("/designer/bots/support/share/link").status_code
        preview = self.designer.edit("/designer/bots/support/preview")
        assert preview.status_code == 200, preview.text
        self.preview = preview.json["conversationId"]
        self.revisions = {bot_id: self.designer.draft(bot_id)[1] for bot_id in ("support", "jobs-crm")}
        self.database = Path(app.config["ARBOR_DATA"]) / "arbor.db"
        self.snapshot = self.database.with_name("seeded.db")
        self._dispose()
        shutil.copy(self.database, self.snapshot)

    def _dispose(self) -> None:
        with self.app.app_context():
            db.session.remove()
            with db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.engine.dispose()

    def restore(self) -> None:
        """The seeded database again (and no indexed drafts of another state), whatever the last route did."""
        self._dispose()
        for suffix in ("-wal", "-shm"):
            self.database.with_name(self.database.name + suffix).unlink(missing_ok=True)
        shutil.copy(self.snapshot, self.database)
        bots.init_app(self.app)

    def values(self, rule: Rule) -> dict[str, object]:
        """Real ids for the rule's variables, by their names and the route they are in."""
        text = rule.rule
        bot = "jobs-crm" if "/integrations" in text else "support"
        name = {"/integrations/": "crm", "/datasets/": "sweep", "/secrets/": "sweep"}
        known = {
            "bot": bot, "bot_id": bot, "conversation_id": self.preview if "/preview/" in text else self.conversation,
            "step_id": "sp-w1", "dialog_id": "checkout", "session": self.session, "session_id": self.session,
            "subscription": self.subscription, "subscription_id": self.subscription, "slug": "sweep",
            "key_id": self.key_id, "user_id": self.user_id, "number": 1, "language": "cs", "table": "days",
            "kind": "nlp", "miss_id": 1, "delivery_id": 1, "job_id": "made-up-job", "link": "made-up-link",
            "token": "made-up-share-token", "filename": "webchat.js", "dialog": "checkout",
            "address": address("support", "sweep-user"),
            "action": "retry" if "/queue/" in text else "edit",
            "name": next((value for part, value in name.items() if part in text), "export" if "export" in text
                         else "userData"),
        }
        return {arg: known.get(arg, "made-up") for arg in rule.arguments}

    def headers(self, rule: Rule, values: dict) -> dict[str, str]:
        """The area's credentials."""
        text = rule.rule
        if text.startswith("/designer"):
            bot = values.get("bot_id", "support")
            revision = self.revisions.get(bot, 1)
            return {"X-CSRFToken": self.designer.token, "HX-Request": "true", "X-Draft-Revision": str(revision)}
        if "/api/management" in text:
            return {"x-functions-key": self.key}
        if "/hooks/" in text:
            return {"Authorization": f"Bearer {self.platform_token}"}
        if text.startswith("/v3/directline/tokens/generate") or text == "/v3/directline/conversations":
            return {"Authorization": f"Bearer {self.secret}"}
        if text.startswith("/v3/directline"):
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    def body_limit(self, rule: Rule) -> int:
        """The area's body limit (Flask's form memory limit where the area has none of its own)."""
        config, text = self.app.config, rule.rule
        if text.startswith("/v3/") or "/webchat/" in text:
            return config["DIRECTLINE_MAX_BODY_BYTES"]
        if "/api/management/datasets" in text:
            return config["DATASETS_MAX_BODY_BYTES"]
        if "/api/management" in text:
            return config["MANAGEMENT_MAX_BODY_BYTES"]
        if "/hooks/" in text or "/botframework/" in text:
            return config["PLATFORM_MAX_BODY_BYTES"]
        if rule.endpoint in ("designer.bot_import", "designer.advanced_save"):
            return config["ARBOR_MAX_DOCUMENT_BYTES"] * 3 + 64 * 1024
        return config["MAX_FORM_MEMORY_SIZE"]


def _user_id() -> int:
    return db.session.scalar(db.select(User.id))


@pytest.fixture(scope="module")
def world(redis_url, tmp_path_factory) -> Iterator[World]:
    platform = HTTPServer(host="127.0.0.1", port=0)  # where replies and webhook deliveries would go: never called
    platform.start()
    app = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path_factory.mktemp("sweep")), "SECRET_KEY": "test",
                      "REDIS_URL": redis_url, "ARBOR_REDIS_PREFIX": f"t{uuid.uuid4().hex[:12]}:",
                      "OUTBOUND_ALLOW_HOSTS": "platform.test", "INTEGRATIONS_RESOLVER": resolve_nothing,
                      # every management route is sent a made-up bot (a 401 each): not a key guesser to hold off
                      "MANAGEMENT_AUTH_FAILURE_LIMIT": "10000 per minute",
                      # limits lowered so that a body a bit over them is quick to send
                      "DATASETS_MAX_BODY_BYTES": 256 * 1024, "ARBOR_MAX_DOCUMENT_BYTES": 128 * 1024,
                      "MAX_FORM_MEMORY_SIZE": 256 * 1024})
    made = World(app, platform)
    yield made
    with app.app_context():
        db.engine.dispose()
    platform.clear()
    platform.stop()


def _rules() -> list[tuple[str, str]]:
    """Every rule and method of an app built for the listing only (nothing migrated, nothing kept)."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"TESTING": True, "ARBOR_DATA": folder, "SECRET_KEY": "test", "AUTO_MIGRATE": False})
        return sorted((rule.rule, method) for rule in app.url_map.iter_rules()
                      for method in sorted(rule.methods - METHODS_SKIPPED))


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _form(fields: list[str], shift: int, token: str) -> bytes:
    """Every known form field with garbage (a different sample per shift), one with a lone surrogate."""
    parts = [f"csrf_token={quote(token)}".encode()]
    parts += [f"{quote(name)}={quote(GARBAGE[(index + shift) % len(GARBAGE)])}".encode()
              for index, name in enumerate(fields)]
    parts.append(quote(fields[shift % len(fields)]).encode() + b"=" + SURROGATE_FORM)
    return b"&".join(parts)


def _bodies(world: World, rule: Rule) -> list[tuple[str, bytes, str]]:
    """(what, body, content type): a sample of bad bodies for a route taking one."""
    limit = world.body_limit(rule)
    form = "application/x-www-form-urlencoded"
    wrong = [dict.fromkeys(JSON_FIELDS, value) for value in (12345, {"nested": {"deeper": [1]}}, None)]
    injected = {name: GARBAGE[index % 4] for index, name in enumerate(JSON_FIELDS)}
    return [
        ("malformed JSON", b'{"a": ', "application/json"),
        ("a JSON array", b"[1, 2]", "application/json"),
        ("a JSON string", b'"text"', "application/json"),
        ("a JSON number", b"42", "application/json"),
        *((f"fields as {type(case['text']).__name__}", _json(case), "application/json") for case in wrong),
        ("script and template injection", _json(injected), "application/json"),
        ("NUL and a lone surrogate", b'{"text": "a\\u0000b", "name": "\\ud800", "type": "message"}',
         "application/json"),
        ("a form with no fields", f"csrf_token={world.designer.token}".encode(), form),
        ("a garbage form", _form(FORM_FIELDS, 0, world.designer.token), form),
        ("another garbage form", _form(FORM_FIELDS, 3, world.designer.token), form),
        ("an oversized body", b'{"text": "' + b"x" * (limit + 1024) + b'"}', "application/json"),
    ]


def _queries() -> list[str]:
    """Every query argument the code reads, with garbage (a different sample per shift), and all with the <script>."""
    return ["&".join(f"{quote(name)}={quote(GARBAGE[(index + shift) % len(GARBAGE)])}"
                     for index, name in enumerate(QUERY_ARGS)) for shift in (0, 5)] + \
        ["&".join(f"{quote(name)}={quote(SCRIPT)}" for name in QUERY_ARGS)]


def _check(response, what: str, endpoint: str) -> None:
    status = response.status_code
    if status == 503 and endpoint in ALLOWED_503:
        status = 200
    if response.mimetype == "text/event-stream":  # a stream that never ends: opened, closed at once
        response.close()
        assert status == 200, what
        return
    body = response.get_data()
    assert status < 500, f"{what}: {response.status_code} {body[:600]!r}"
    assert b"Traceback" not in body, f"{what}: a traceback {body[:600]!r}"
    if response.mimetype == "text/html":
        assert SCRIPT.encode() not in body, f"{what}: the <script> echoed unescaped"
        assert MADE_UP_ID.encode() not in body, f"{what}: the made-up id's markup echoed unescaped"


def _made_up(rule: Rule, values: dict) -> list[tuple[str, dict]]:
    """The rule's URL with a bot that does not exist, and with every other id made up (in the column's range,
    and past it): each answered 404. The trigger's address and an action are not ids of anything stored."""
    cases = []
    for arg in {"bot", "bot_id"} & set(rule.arguments):
        cases.append(("a made-up bot", {**values, arg: "made-up-bot"}))
    ids = [arg for arg in rule.arguments if arg not in ("bot", "bot_id", "address", "action")]
    if ids:
        cases.append(("made-up ids", {**values, **{arg: 2**31 - 1 if isinstance(values[arg], int) else MADE_UP_ID
                                                   for arg in ids}}))
    if any(isinstance(values[arg], int) for arg in ids):
        cases.append(("ids past the column", {**values, **{arg: 10**20 for arg in ids
                                                           if isinstance(values[arg], int)}}))
    return cases


def _check_not_found(response, case: str, target: str, endpoint: str) -> None:
    """A 404 that says what was not found: the APIs' `{"error": {"code", "message"}}`, the designer's message
    (htmx asks; its page otherwise), the public pages' own; or the rule's exception, for its reason."""
    status, body = response.status_code, response.get_data(as_text=True)
    blueprint = endpoint.partition(".")[0]
    expected, why = NOT_FOUND_EXCEPTIONS.get((endpoint, case), NOT_FOUND_EXCEPTIONS.get((blueprint, case), (404, "")))
    what = f"{case} {target}"
    assert status == expected, f"{what}: {status}, not {expected} {why}: {body[:600]!r}"
    if status != 404:
        return
    if response.is_json:
        error = response.json["error"]
        assert error["code"].endswith("NotFound") and error["message"], f"{what}: {body[:600]!r}"
    else:
        assert body.strip(), f"{what}: an empty 404"
    if case != "ids past the column" and endpoint != "static":  # there no route matches, or no file: said so
        assert UNMATCHED not in body, f"{what}: the route was matched, yet the 404 does not say what is missing"


@pytest.mark.parametrize(("path", "method"), _rules(), ids=lambda value: value)
def test_no_route_answers_bad_input_with_a_500(world: World, path: str, method: str) -> None:
    world.restore()
    rule = next(r for r in world.app.url_map.iter_rules() if r.rule == path and method in r.methods)
    values = world.values(rule)
    with world.app.test_request_context():
        url = rule.build(values, append_unknown=False)[1]
    headers = world.headers(rule, values)
    client = world.client
    if rule.endpoint == "directline.stream":  # a valid stream token would upgrade: only its refusals are exercised
        headers = {}
    for what, made_up in _made_up(rule, values):
        with world.app.test_request_context():
            target = rule.build(made_up, append_unknown=False)[1]
        answer = client.open(target, method=method, headers=headers, buffered=False)
        _check(answer, f"{what} {target}", rule.endpoint)
        _check_not_found(answer, what, target, rule.endpoint)
    sent = [("real ids", url), *((f"garbage query {query[:80]}", f"{url}?{query}") for query in _queries())]
    for what, target in sent:
        _check(client.open(target, method=method, headers=headers, buffered=False), what, rule.endpoint)
    if method == "GET":
        return
    for what, body, content_type in _bodies(world, rule):
        answer = client.open(url, method=method, data=body, headers={**headers, "Content-Type": content_type},
                             buffered=False)
        _check(answer, what, rule.endpoint)
