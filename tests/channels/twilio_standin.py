"""A local stand-in of Twilio for the platform channel's tests: its webhooks signed with the auth token as
Twilio signs them (the `twilio` library's own RequestValidator computes the signature), and its Messages API
and account resource on a real local HTTP server (pytest-httpserver) that records what the bot sent."""

from __future__ import annotations

import base64
import json

from pytest_httpserver import HTTPServer
from twilio.request_validator import RequestValidator
from werkzeug import Request, Response

ACCOUNT = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-0001"
NUMBER = "+442000000001"
USER = "+447700900001"
PUBLIC = "https://arbor.example.com/b/tbot/hooks/sms"  # where Twilio posts, as configured; not the test's Host


class Twilio:
    def __init__(self, server: HTTPServer):
        self.sent: list[dict] = []  # the Messages API's POSTs, as form fields
        self.refuse: set[str] = set()  # bodies the Messages API refuses, as Twilio refuses a message for good
        self.refused: list[dict] = []  # the POSTs it refused
        self.busy: dict[str, int] = {}  # bodies the Messages API answers 503 so many times first (a passing outage)
        self.unavailable: list[dict] = []  # the POSTs it answered 503
        self.base = server.url_for("").rstrip("/")
        server.expect_request(f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json", method="POST").respond_with_handler(
            self._message)
        server.expect_request(f"/2010-04-01/Accounts/{ACCOUNT}.json", method="GET").respond_with_handler(
            self._account)

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{ACCOUNT}:{AUTH_TOKEN}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def _message(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(json.dumps({"code": 20003, "message": "Authenticate"}), status=401)
        fields = {key: request.form[key] for key in request.form}
        if self.busy.get(fields.get("Body"), 0) > 0:
            self.busy[fields["Body"]] -= 1
            self.unavailable.append(fields)
            return Response(json.dumps({"code": 20503, "message": "Service Unavailable", "status": 503}), status=503,
                            content_type="application/json")
        if fields.get("Body") in self.refuse:
            self.refused.append(fields)
            return Response(json.dumps({"code": 21617, "message": "The concatenated message body exceeds the 1600 "
                                        "character limit.", "status": 400}), status=400,
                            content_type="application/json")
        self.sent.append(fields)
        return Response(json.dumps({"sid": f"SM{len(self.sent):032d}", "status": "queued"}), status=201,
                        content_type="application/json")

    def _account(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(json.dumps({"code": 20003, "message": "Authenticate"}), status=401)
        return Response(json.dumps({"sid": ACCOUNT, "status": "active"}), content_type="application/json")


def signed(url: str, fields: dict, token: str = AUTH_TOKEN) -> dict:
    """The headers Twilio sends: X-Twilio-Signature over the URL and the form fields."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, fields)}


def sms(body: str, sid: str, sender: str = USER, **extra) -> dict:
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": sender, "To": NUMBER, "Body": body,
            "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01", **extra}


def status(sid: str, value: str, error: str | None = None) -> dict:
    return {"MessageSid": sid, "AccountSid": ACCOUNT, "From": NUMBER, "To": USER, "MessageStatus": value,
            "ApiVersion": "2010-04-01", **({"ErrorCode": error} if error else {})}
