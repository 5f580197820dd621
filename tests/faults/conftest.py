"""The faults suite: real processes (workers, gunicorn, Redis, PostgreSQL) killed or stopped in the middle of
their work and started again, and what was lost or doubled counted (tally.py; the table is printed at the end
of the run by tests/conftest.py). The outside APIs are real local servers that can hold a request, so a kill
lands while the work is in flight."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from tally import Tally
from werkzeug import Request, Response

from tests.smtp_server import SmtpServer, serving

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items) -> None:
    """Every test here is marked `faults` (`pytest -m faults` runs the suite alone; `make test` runs it too)."""
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def app_config():
    """The loopback test servers are allow-listed for these apps."""
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


@pytest.fixture
def tally(request, postgres) -> Callable[[str], Tally]:
    """`tally("fault")`: the test's count, recorded on its report for the table (also when the test fails)."""
    made: list[Tally] = []

    def new(fault: str) -> Tally:
        made.append(Tally(fault, "sqlite" if postgres is None else "postgresql"))
        return made[-1]

    yield new
    for count in made:
        request.node.user_properties.append(("faults", count.as_dict()))


class Outside:
    """An outside API on loopback that records every request and answers 200 `{}` (or what `answers[path]`
    says, given the request; a webhook handshake gets its challenge back). `hold(path)` makes the next request
    to it wait, unanswered, until `release` is set: the moment a worker is killed mid-call. `arrived` is set
    when the held request came.

    Like Stripe-style APIs it honours an `Idempotency-Key` (unless `honours_keys` is off): a request repeating a
    key it saw at that path is the same call again, answered with `Idempotent-Replayed: true` and not done
    twice; `calls(path)` counts the calls it did."""

    def __init__(self, server: HTTPServer):
        self.server = server
        self.honours_keys = True
        self.requests: list[tuple[str, dict, bytes]] = []
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.answers: dict[str, Callable[[Request], Response]] = {}
        self.held: str | None = None
        self.arrived, self.release = threading.Event(), threading.Event()
        server.expect_request(re.compile(".*")).respond_with_handler(self._answer)

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def hold(self, path: str) -> None:
        self.held = path

    def to(self, path: str) -> list[tuple[dict, bytes]]:
        return [(headers, body) for at, headers, body in list(self.requests) if at == path]

    def calls(self, path: str) -> int:
        """The calls done at `path`: each request, but one per Idempotency-Key when the keys are honoured."""
        keys = [headers.get("Idempotency-Key") for headers, _ in self.to(path)]
        if not self.honours_keys:
            return len(keys)
        return keys.count(None) + len({key for key in keys if key is not None})

    def _answer(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            self.requests.append((request.path, dict(request.headers), request.get_data()))
            replayed = self.honours_keys and key is not None and (request.path, key) in self._keys
            if key is not None:
                self._keys.add((request.path, key))
        answer = self._answered(request, hold=not replayed)
        if replayed:
            answer.headers["Idempotent-Replayed"] = "true"
        return answer

    def _answered(self, request: Request, *, hold: bool) -> Response:
        if hold and request.path == self.held:
            self.held = None
            self.arrived.set()
            self.release.wait(120)
        answer = self.answers.get(request.path)
        if answer:
            return answer(request)
        with contextlib.suppress(ValueError, KeyError, TypeError):  # a webhook subscription's handshake
            body = json.loads(request.get_data())
            if body["type"] == "webhook.verification":
                return Response(body["data"]["challenge"])
        return Response(json.dumps({}), content_type="application/json")


@pytest.fixture
def outside() -> Iterator[Outside]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    made = Outside(server)
    yield made
    made.release.set()
    server.clear()
    server.stop()


class Inbox:
    """A real SMTP server's handler (aiosmtpd) that keeps each message as it comes, and can hold its answer to
    the first one (`holding`): the message is taken, its sender not yet told (RFC 1047's duplicate window)."""

    def __init__(self):
        self.messages: list = []
        self.holding = False
        self.arrived, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content))
        if self.holding:
            self.holding = False
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpServer, Inbox]]:
    inbox = Inbox()
    with serving(inbox) as controller:
        yield controller, inbox
        inbox.release.set()
