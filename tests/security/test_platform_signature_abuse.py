"""A platform's inbound URL refuses a request whose credential is malformed, not only missing or wrong (those are
in test_twilio_signature.py and test_webex_access_token.py): a Twilio signature or a Webex Connect access token
that is empty, not Base64, a number or JSON, 64 KB long or not ASCII gets the clean refusal (403 for Twilio, 401
for Webex Connect) as JSON, and nothing is applied: no conversation, no transcript. A request that passes the
check but whose body is bad (a NUL, JSON that is malformed or not an object, fields of the wrong type or too
long, a body over PLATFORM_MAX_BODY_BYTES) gets a 400 saying what is wrong, never a 500, and nothing is applied
either; so does a form that is not UTF-8 or has too many fields, before its signature can be checked."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy import func, select

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from twilio_standin import ACCOUNT, AUTH_TOKEN, NUMBER, PUBLIC, signed, sms  # noqa: E402
from webex_standin import WebexConnect, message  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.extensions import db  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.models import Conversation, TranscriptEntry  # noqa: E402

TWILIO, WEBEX = "/b/pbot/hooks/sms", "/b/pbot/hooks/webex"
ACCESS = "webex-access-token-abuse"
BOT = {"format": 1, "id": "pbot", "name": "Platforms", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hello."}]}]}
# What a header can carry that is no credential (the test client sends a header as Latin-1, as WSGI reads it).
MALFORMED = {
    "empty": "",
    "blank": "   ",
    "not Base64": "!!not*base64??",
    "a number": "12345",
    "JSON": '{"signature": ["a", 1]}',
    "64 KB": "A" * 65536,
    "non-ASCII (UTF-8 bytes)": "pod\u0159\u00edzen\u00fd-\U0001f511".encode().decode("latin-1"),
    "non-ASCII (Latin-1)": "signatur\u00e9\u00ff",
}


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1", "TWILIO_API_URL": "http://127.0.0.1:9"}


@pytest.fixture
def connected(app, client, httpserver):
    """The bot with a Twilio connection and a verified Webex Connect one."""
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("pbot", "sms", "Twilio", "", kind="twilio",
                           settings={"accountSid": ACCOUNT, "phoneNumber": NUMBER, "publicUrl": _public()},
                           secrets={"authToken": AUTH_TOKEN})
        connections.create("pbot", "webex", "Webex", WebexConnect(httpserver).webhook_url, kind="webex-connect",
                           secrets={"accessToken": ACCESS})
    assert client.post(WEBEX, json={}, headers=_bearer(ACCESS)).status_code == 200  # Webex's Verify


def _public() -> str:
    return PUBLIC.replace("/b/tbot/", "/b/pbot/")


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _nothing_applied(app) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0
        assert db.session.scalar(select(func.count()).select_from(TranscriptEntry)) == 0


def _refused(answer, status: int, says: str) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    assert answer.is_json and says in answer.json["error"]["message"]


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_twilio_signature_is_refused_and_nothing_applied(app, client, connected, value):
    answer = client.post(TWILIO, data=sms("METER 1", "SM1"), headers={"X-Twilio-Signature": value})
    _refused(answer, 403, "X-Twilio-Signature")
    _nothing_applied(app)


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("header", ["Authorization", "X-Access-Token"])
def test_a_malformed_webex_access_token_is_refused_and_nothing_applied(app, client, connected, header, value):
    sent = {header: f"Bearer {value}" if header == "Authorization" else value}
    answer = client.post(WEBEX, json=message("Hi", "m1"), headers=sent)
    _refused(answer, 401, "access token")
    assert "X-Verification-Token" not in answer.headers
    _nothing_applied(app)


def _signed_form(body: bytes) -> dict:
    """The headers of a Twilio request for this body, signed over its fields as Twilio signs."""
    fields = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    return {**signed(_public(), fields), "Content-Type": "application/x-www-form-urlencoded"}


TWILIO_BODIES = {
    "not UTF-8": (b"MessageSid=SM1&From=%2B447700900001&To=%2B442000000001&Body=\xff\xfe", "not a form"),
    "not UTF-8 once decoded": (b"MessageSid=SM1&From=%2B447700900001&To=%2B442000000001&Body=%ED%A0%80",
                               "not a form"),
    "a NUL in Body": (urlencode(sms("a\x00b", "SM1")).encode(), "NUL"),
    "too many fields": ("&".join(f"f{n}=x" for n in range(300)).encode(), "not a form"),
    "NumMedia not a number": (urlencode(sms("", "SM1", NumMedia="many", MediaUrl0="https://x.example/a.png"))
                              .encode(), "NumMedia is a number"),
    "Body too long": (urlencode(sms("x" * 5000, "SM1")).encode(), "Body is longer than"),
    "From too long": (urlencode(sms("hi", "SM1", From="+" + "4" * 400)).encode(), "From is longer than"),
    "no Body and no media": (urlencode(sms("", "SM1")).encode(), "has a Body or media"),
    "no MessageSid": (urlencode({k: v for k, v in sms("hi", "SM1").items() if k != "MessageSid"}).encode(),
                      "lacks MessageSid"),
    "over the body limit": (urlencode(sms("x" * 70_000, "SM1")).encode(), "larger than"),
}


@pytest.mark.parametrize(("body", "says"), TWILIO_BODIES.values(), ids=TWILIO_BODIES.keys())
def test_a_bad_twilio_body_with_a_valid_signature_is_a_clear_400(app, client, connected, body, says):
    answer = client.post(TWILIO, data=body, headers=_signed_form(body))
    _refused(answer, 400, says)
    _nothing_applied(app)


WEBEX_BODIES = {
    "malformed JSON": (b'{"Event": "Incoming message", ', "not JSON"),
    "a JSON array": (b"[1, 2]", "one JSON object"),
    "a JSON string": (b'"Incoming message"', "one JSON object"),
    "NaN": (json.dumps(message("Hi", "m1")).replace('"Hi"', "NaN").encode(), "NaN"),
    "Message an object": (json.dumps({**message("x", "m1"), "Message": {"text": "Hi"}}).encode(),
                          '"Message" must be a string'),
    "Conversationid a number": (json.dumps({**message("Hi", "m1"), "Conversationid": 7}).encode(),
                                '"Conversationid" must be a string'),
    "Event a list": (json.dumps({**message("Hi", "m1"), "Event": ["Incoming message"]}).encode(),
                     '"Event" must be one of'),
    "Timestamp a number": (json.dumps({**message("Hi", "m1"), "Timestamp": 1765076400}).encode(),
                           '"Timestamp" must be'),
    "Message too long": (json.dumps(message("x" * 5000, "m1")).encode(), '"Message" must be a string of at most'),
    "over the body limit": (json.dumps(message("x" * 70_000, "m1")).encode(), "larger than"),
}


@pytest.mark.parametrize(("body", "says"), WEBEX_BODIES.values(), ids=WEBEX_BODIES.keys())
def test_a_bad_webex_body_with_the_access_token_is_a_clear_400(app, client, connected, body, says):
    answer = client.post(WEBEX, data=body, headers={**_bearer(ACCESS), "Content-Type": "application/json"})
    _refused(answer, 400, says)
    _nothing_applied(app)

