"""A local stand-in of the Bot Framework for the platform channel's tests, on a real local HTTP server
(pytest-httpserver): an issuer with its own RSA signing keys (made with `cryptography`) serving its OpenID
metadata and key set as login.botframework.com does, a token endpoint taking client credentials as
login.microsoftonline.com does, and a connector service (the activities' `serviceUrl`) recording the bot's
replies. `token()` signs the JWT a channel's activity carries; `message()` and the others are activities as
the Bot Connector API's reference shows them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

APP_ID = "2f1c6a9e-5b7d-4e0a-9c3b-8d6e1f2a3b4c"
APP_PASSWORD = "bf-app-password~0001"
ISSUER = "https://api.botframework.com"
CHANNEL = "msteams"
BOT_ACCOUNT = {"id": "28:bot-account", "name": "Acme bot"}
USER_ACCOUNT = {"id": "29:user-ana", "name": "Ana"}
CONVERSATION = "a:conv-1"
REPLY_PATH = re.compile(r"^/bf/connector/v3/conversations/([^/]+)/activities(?:/([^/]+))?$")
# Made once: RSA key generation is the slowest part of a test, and the keys only need to differ from each other.
KEYS = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in ("key-1", "key-2", "rogue")}


class BotFramework:
    """The platform's side: `replies` are (path's conversation id, replyToId or None, body, Authorization) the
    connector received; `token_requests` the token endpoint's form posts."""

    def __init__(self, server: HTTPServer):
        self.replies: list[dict] = []
        self.token_requests: list[dict] = []
        self.published = ["key-1", "key-2"]  # the key set lists these (`rogue` signs but is never listed)
        self.endorsements: dict[str, list[str]] = {}
        self.issued = 0
        self.metadata_url = server.url_for("/bf/.well-known/openidconfiguration")
        self.token_endpoint = server.url_for("/bf/oauth2/v2.0/token")
        self.service_url = server.url_for("/bf/connector")
        server.expect_request("/bf/.well-known/openidconfiguration", method="GET").respond_with_json(
            {"issuer": ISSUER, "jwks_uri": server.url_for("/bf/keys"),
             "id_token_signing_alg_values_supported": ["RS256"]})
        server.expect_request("/bf/keys", method="GET").respond_with_handler(self._keys)
        server.expect_request("/bf/oauth2/v2.0/token", method="POST").respond_with_handler(self._token)
        server.expect_request(REPLY_PATH, method="POST").respond_with_handler(self._reply)

    def settings(self) -> dict:
        return {"appId": APP_ID, "issuer": ISSUER, "openIdMetadataUrl": self.metadata_url,
                "tokenEndpoint": self.token_endpoint}

    def _keys(self, request: Request) -> Response:
        keys = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEYS[kid].public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig",
                         **({"endorsements": self.endorsements[kid]} if kid in self.endorsements else {})})
        return Response(json.dumps({"keys": keys}), content_type="application/json")

    def _token(self, request: Request) -> Response:
        form = {key: request.form[key] for key in request.form}
        self.token_requests.append(form)
        if (form.get("grant_type"), form.get("client_id"), form.get("client_secret"), form.get("scope")) != (
                "client_credentials", APP_ID, APP_PASSWORD, "https://api.botframework.com/.default"):
            return Response(json.dumps({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid "
                                        "client secret provided."}), status=401, content_type="application/json")
        self.issued += 1
        return Response(json.dumps({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                    "access_token": f"connector-token-{self.issued}"}), content_type="application/json")

    def _reply(self, request: Request) -> Response:
        conversation, reply_to = REPLY_PATH.match(request.path).groups()
        self.replies.append({"conversation": unquote(conversation), "replyTo": unquote(reply_to) if reply_to else None,
                             "body": json.loads(request.get_data(as_text=True)),
                             "authorization": request.headers.get("Authorization")})
        return Response(json.dumps({"id": f"reply-{len(self.replies)}"}), status=201, content_type="application/json")

    @property
    def texts(self) -> list[str]:
        return [reply["body"].get("text") for reply in self.replies]

    def token(self, activity: dict | None = None, *, kid: str = "key-1", signer: str | None = None,
              issuer: str = ISSUER, audience: str = APP_ID, expires_in: timedelta = timedelta(minutes=60),
              service_url: str | None = None) -> str:
        """The JWT a channel's activity carries: signed by key `signer` (default: `kid`'s) named as `kid`; for the
        activity's serviceUrl unless `service_url` names another ("": none)."""
        now = datetime.now(UTC)
        claims = {"iss": issuer, "aud": audience, "nbf": now - timedelta(minutes=5), "iat": now - timedelta(minutes=5),
                  "exp": now + expires_in}
        if service_url != "":
            claims["serviceurl"] = service_url or (activity or {}).get("serviceUrl") or self.service_url
        return jwt.encode(claims, KEYS[signer or kid], algorithm="RS256", headers={"kid": kid})

    def activity(self, kind: str, activity_id: str, conversation: str = CONVERSATION, **fields) -> dict:
        return {"type": kind, "id": activity_id, "timestamp": "2026-12-07T03:00:00.250Z", "channelId": CHANNEL,
                "serviceUrl": self.service_url, "from": USER_ACCOUNT, "recipient": BOT_ACCOUNT,
                "conversation": {"id": conversation}, **fields}

    def message(self, text: str, activity_id: str, **fields) -> dict:
        return self.activity("message", activity_id, text=text, textFormat="plain", locale="en-US", **fields)

    def members_added(self, activity_id: str, *members: dict, **fields) -> dict:
        return self.activity("conversationUpdate", activity_id, membersAdded=list(members), **fields)
