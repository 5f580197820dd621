"""A webhook receiver for tests and benchmarks, on a real local HTTP server (pytest-httpserver)."""

from __future__ import annotations

import json
import threading

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


class Receiver:
    """A webhook receiver: passes the handshake (unless told not to), records deliveries, answers as scripted.

    `answers` is a list of (status, headers) or callables taken one per delivery; when it runs out, 204.
    """

    def __init__(self, server: HTTPServer):
        self.server, self.requests, self.answers = server, [], []
        self.handshake = "echo"  # or "wrong", or a status code
        self.release = threading.Event()  # a "hang" answer blocks until the test ends
        server.expect_request("/hook").respond_with_handler(self._answer)
        self.url = server.url_for("/hook")

    def _answer(self, request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True))
        if body["type"] == "webhook.verification":
            if self.handshake == "echo":
                return Response(body["data"]["challenge"])
            return Response("hello", status=self.handshake if isinstance(self.handshake, int) else 200)
        self.requests.append((dict(request.headers), request.get_data(as_text=True), body))
        answer = self.answers.pop(0) if self.answers else (204, {})
        if callable(answer):
            return answer()
        status, headers = answer
        return Response("", status=status, headers=headers)

    @property
    def events(self) -> list[str]:
        return [body["type"] for _, _, body in self.requests]

    @property
    def ids(self) -> list[str]:
        return [headers["Webhook-Id"] for headers, _, _ in self.requests]
