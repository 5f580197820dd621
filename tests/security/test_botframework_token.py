"""A Microsoft Bot Framework connection takes an activity only with a JWT the configured issuer signed (a key its
OpenID metadata lists, RS256), for this bot's app id, not expired (five minutes of clock skew), issued for the
activity's serviceUrl (and, when the key has endorsements, for its channel). Anything else is a 401 or 403 with a
JSON error and nothing stored; the bot's reply token never goes to a serviceUrl an unverified activity named.
The issuer, its keys and the token endpoint are a local stand-in (tests/channels/botframework_standin.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import func, select

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from botframework_standin import APP_PASSWORD, BOT_ACCOUNT, CHANNEL, KEYS, BotFramework  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.channels.platforms.adapters import botframework_auth  # noqa: E402
from runtime.extensions import db  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.models import Conversation  # noqa: E402

BOT = {"format": 1, "id": "bfsec", "name": "BF", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hello."}]}]}
ENDPOINT = "/b/bfsec/botframework/messages"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


@pytest.fixture
def bf(app, httpserver) -> BotFramework:
    botframework_auth.forget()
    made = BotFramework(httpserver)
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("bfsec", "teams", "Teams", "", kind="botframework", settings=made.settings(),
                           secrets={"appPassword": APP_PASSWORD})
    yield made
    botframework_auth.forget()


def refused(app, client, bf, activity: dict, headers: dict, status: int, says: str) -> None:
    answer = client.post(ENDPOINT, json=activity, headers=headers)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.json["error"]["code"] in ("Unauthorized", "Forbidden") and says in answer.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0
    assert bf.token_requests == [] and bf.replies == []  # the bot's credentials went nowhere


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_is_taken(app, client, bf, jobs):
    activity = bf.members_added("c1", BOT_ACCOUNT)
    assert client.post(ENDPOINT, json=activity, headers=bearer(bf.token(activity))).status_code == 200
    jobs.drain()
    assert bf.texts == ["Hello."]


def test_no_authorization_header_is_401(app, client, bf):
    refused(app, client, bf, bf.message("hi", "m1"), {}, 401, "no Authorization: Bearer <JWT>")


def test_not_a_jwt_is_401(app, client, bf):
    refused(app, client, bf, bf.message("hi", "m1"), bearer("not-a-jwt"), 401, "not a JWT")


def test_a_token_from_another_issuer_is_401(app, client, bf):
    activity = bf.message("hi", "m1")
    refused(app, client, bf, activity, bearer(bf.token(activity, issuer="https://sts.example.com")), 401,
            "another issuer")


def test_a_token_for_another_bot_is_401(app, client, bf):
    activity = bf.message("hi", "m1")
    refused(app, client, bf, activity, bearer(bf.token(activity, audience="another-app-id")), 401,
            "for another bot")


def test_an_expired_token_is_401_past_the_five_minutes_of_clock_skew(app, client, bf, jobs):
    activity = bf.message("hi", "m1")
    refused(app, client, bf, activity, bearer(bf.token(activity, expires_in=timedelta(minutes=-6))), 401, "expired")
    late = bf.members_added("c1", BOT_ACCOUNT)  # within the skew Microsoft allows: taken
    assert client.post(ENDPOINT, json=late, headers=bearer(bf.token(late, expires_in=timedelta(minutes=-4)))) \
        .status_code == 200


def test_a_key_the_metadata_does_not_list_is_401(app, client, bf):
    activity = bf.message("hi", "m1")
    refused(app, client, bf, activity, bearer(bf.token(activity, kid="rogue")), 401, "does not list")


def test_a_listed_key_id_over_another_keys_signature_is_401(app, client, bf):
    activity = bf.message("hi", "m1")
    refused(app, client, bf, activity, bearer(bf.token(activity, kid="key-1", signer="rogue")), 401,
            "signature does not match")


def test_unsigned_and_symmetric_tokens_are_401(app, client, bf):
    activity = bf.message("hi", "m1")
    claims = jwt.decode(bf.token(activity), options={"verify_signature": False})
    refused(app, client, bf, activity, bearer(forged("none", claims, lambda signed: b"")), 401, "only RS256")
    # HS256 keyed with the listed key's public text: the algorithm-confusion trick (PyJWT will not make one).
    public = jwt.algorithms.RSAAlgorithm.to_jwk(KEYS["key-1"].public_key()).encode()
    symmetric = forged("HS256", claims, lambda signed: hmac.new(public, signed, hashlib.sha256).digest())
    refused(app, client, bf, activity, bearer(symmetric), 401, "only RS256")


def forged(alg: str, claims: dict, sign) -> str:
    """A JWT made by hand, as an attacker would: header and claims, signed by `sign` (or not)."""
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    signed = f"{part(json.dumps({'alg': alg, 'kid': 'key-1'}).encode())}.{part(json.dumps(claims).encode())}"
    return f"{signed}.{part(sign(signed.encode()))}"


def test_an_activity_naming_another_service_url_than_its_token_is_403(app, client, bf, other_server):
    """An attacker replays a real token with its own serviceUrl, to have the bot's token sent there."""
    genuine = bf.message("hi", "m1")
    token = bf.token(genuine)
    hijacked = {**genuine, "serviceUrl": other_server.url_for("/steal")}
    refused(app, client, bf, hijacked, bearer(token), 403, "serviceUrl is not the one its token was issued for")
    without = bf.token(genuine, service_url="")  # a token naming no serviceUrl at all
    refused(app, client, bf, genuine, bearer(without), 403, "serviceUrl is not the one")
    assert other_server.log == []


def test_a_key_endorsed_for_other_channels_is_403(app, client, bf):
    bf.endorsements["key-1"] = ["skype", "webchat"]
    activity = bf.message("hi", "m1")
    refused(app, client, bf, activity, bearer(bf.token(activity)), 403, f"not endorsed for the channel '{CHANNEL}'")
    bf.endorsements["key-1"] = [CHANNEL]
    botframework_auth.forget()
    assert client.post(ENDPOINT, json=activity, headers=bearer(bf.token(activity))).status_code == 200


def test_a_rolled_key_is_read_again_but_made_up_key_ids_do_not_hammer_the_issuer(app, client, bf, clock, httpserver):
    bf.published = ["key-1"]
    first = bf.members_added("c1", BOT_ACCOUNT)
    assert client.post(ENDPOINT, json=first, headers=bearer(bf.token(first))).status_code == 200
    bf.published = ["key-1", "key-2"]  # the issuer rolls in a new key
    rolled = bf.message("hi", "m1")
    reads = len([entry for entry, _ in httpserver.log if entry.path == "/bf/keys"])
    assert client.post(ENDPOINT, json=rolled, headers=bearer(bf.token(rolled, kid="key-2"))).status_code == 401
    assert len([entry for entry, _ in httpserver.log if entry.path == "/bf/keys"]) == reads  # read a moment ago
    clock.move_to(clock.later(minutes=6))
    again = bf.message("hi", "m2")
    assert client.post(ENDPOINT, json=again, headers=bearer(bf.token(again, kid="key-2"))).status_code == 200
    assert len([entry for entry, _ in httpserver.log if entry.path == "/bf/keys"]) == reads + 1
