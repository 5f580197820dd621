"""A local OAuth 2.0 provider for the sign-in tests, built with Authlib's server side: an authorization endpoint
with a consent page (Allow / Deny buttons a browser clicks, or `?consent=allow|deny` for API tests), a token
endpoint with the authorization-code grant (PKCE S256 required) and the refresh-token grant (rotating: each
refresh token works once and a new one comes with every refresh), and a resource endpoint (`/api/me`) that
answers only a live access token. Served by werkzeug in a thread on a loopback port; time is `time.time()`,
so the test's clock (tests/clock.py) decides when tokens expire.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, jsonify, request
from markupsafe import escape
from werkzeug.serving import make_server

CLIENT_ID, CLIENT_SECRET = "arbor-bot", "provider-client-secret-9f8e7d"
PERSON = {"id": "eva", "name": "Eva Novak", "email": "eva@example.com"}


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str = "profile orders"

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


@dataclass
class Token(TokenMixin):
    client_id: str
    access_token: str
    refresh_token: str | None
    scope: str
    user: dict
    issued_at: float
    expires_in: int
    revoked: bool = False

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return self.user

    def get_client(self):
        return provider_clients[self.client_id]


provider_clients: dict[str, Client] = {}


@dataclass
class Provider:
    """The running provider: its address, what it issued, and switches a test flips."""

    url: str = ""
    codes: dict[str, Code] = field(default_factory=dict)
    tokens: list[Token] = field(default_factory=list)
    expires_in: int = 3600
    refreshes: int = 0
    redirect_uris: list[str] = field(default_factory=list)

    def authorize_url(self) -> str:
        return self.url + "/oauth/authorize"

    def token_url(self) -> str:
        return self.url + "/oauth/token"

    def live_tokens(self) -> list[Token]:
        return [t for t in self.tokens if not t.revoked and not t.is_expired()]


def build(provider: Provider) -> Flask:
    app = Flask("oauth-provider")
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": provider.expires_in, "refresh_token":
                                             provider.expires_in}
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True  # Authlib issues refresh tokens only when told to
    client = Client(CLIENT_ID, CLIENT_SECRET, provider.redirect_uris)
    provider_clients[CLIENT_ID] = client

    def save_token(token: dict, req) -> None:
        user = req.user or {}
        provider.tokens.append(Token(CLIENT_ID, token["access_token"], token.get("refresh_token"),
                                     token.get("scope", ""), user, time.time(), token["expires_in"]))

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code, req):
            provider.codes[code] = Code(code, CLIENT_ID, req.payload.redirect_uri, req.payload.scope or "",
                                        req.user, req.payload.data.get("code_challenge"),
                                        req.payload.data.get("code_challenge_method"))

        def query_authorization_code(self, code, client):
            return provider.codes.get(code)

        def delete_authorization_code(self, authorization_code):
            provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return authorization_code.user

    class RotatingRefresh(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token):
            return next((t for t in provider.tokens if t.refresh_token == refresh_token and not t.revoked), None)

        def authenticate_user(self, refresh_token):
            return refresh_token.user

        def revoke_old_credential(self, refresh_token):
            provider.refreshes += 1
            refresh_token.revoked = True

    server = AuthorizationServer(app, query_client=provider_clients.get, save_token=save_token)
    server.register_grant(CodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RotatingRefresh)

    class Validator(BearerTokenValidator):
        def authenticate_token(self, token_string):
            return next((t for t in provider.tokens if t.access_token == token_string), None)

    protect = ResourceProtector()
    protect.register_token_validator(Validator())

    @app.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize():
        consent = request.values.get("consent")
        grant = server.get_consent_grant(end_user=PERSON)
        if consent is None:
            return (f"<!doctype html><title>Example ID</title><h1>Example ID</h1>"
                    f"<p>{escape(grant.client.client_id)} asks to see your profile and orders.</p>"
                    f'<form method="post"><input type="hidden" name="consent" value="allow">'
                    f"<button>Allow</button></form>"
                    f'<form method="post"><input type="hidden" name="consent" value="deny">'
                    f"<button>Deny</button></form>")
        return server.create_authorization_response(grant_user=PERSON if consent == "allow" else None, grant=grant)

    @app.post("/oauth/token")
    def issue_token():
        return server.create_token_response()

    @app.get("/api/me")
    @protect("profile")
    def me():
        return jsonify({**current_token.user, "orders": [{"id": "A-1001", "status": "shipped"}]})

    return app


class Running:
    """The provider served on 127.0.0.1 in a thread; `stop()` ends it."""

    def __init__(self, provider: Provider):
        self.provider = provider
        self.server = make_server("127.0.0.1", 0, build(provider), threaded=True)
        provider.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()
