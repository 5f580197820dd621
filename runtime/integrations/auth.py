"""Auth per integration: how a call proves who it is, chosen in the bot's integration settings.

`{"type": ...}` in the integration's `auth`, with the credential taken from the integration's secrets
(a bot secret named in `secrets`) or, for `user-token`, from the user's data:

| type | what is sent | from |
| --- | --- | --- |
| none | nothing | |
| basic | `Authorization: Basic` | `username` in auth, secret `password` |
| bearer | `Authorization: Bearer` | secret `token` |
| user-token | `Authorization: Bearer` | the storage `storage` (default `accessToken`) the page passed at start |
| api-key | header or query parameter `name` (`in`: header/query) | secret `apiKey` |
| oauth2-client-credentials | Bearer, a fetched token | `tokenUrl`, `clientId`, `scope`; `clientSecret` |
| oauth2-authorization-code | Bearer, the user's own token | their sign-in (`sign_in`); `clientSecret` |

OAuth2 tokens are fetched with Authlib's OAuth2 client over the guarded session, cached per app until
they expire (30 s early), then fetched again.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749 import OAuth2Token

from runtime.integrations.errors import IntegrationError, TimedOut
from runtime.integrations.http import HttpSession
from runtime.integrations.redaction import Redactor

SECRET_OF = {"basic": "password", "bearer": "token", "api-key": "apiKey", "oauth2-client-credentials": "clientSecret",
             "oauth2-authorization-code": "clientSecret"}
LEEWAY = 30


def secret_names(auth: dict | None) -> list[str]:
    """The integration secrets (template-side names) this auth reads."""
    name = SECRET_OF.get((auth or {}).get("type", "none"))
    return [name] if name else []


@dataclass
class Credentials:
    """What auth adds to each request of a call."""

    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


class TokenCache:
    """OAuth2 client-credentials tokens of one app, by endpoint, client, scope and secret."""

    def __init__(self):
        self.tokens: dict[str, OAuth2Token] = {}
        self.lock = threading.Lock()

    def token(self, http: HttpSession, auth: dict, client_secret: str, timeout: float,
              journal: list | None = None) -> str:
        key = hashlib.sha256("\0".join([auth["tokenUrl"], auth["clientId"], auth.get("scope", ""),
                                        client_secret]).encode()).hexdigest()
        with self.lock:
            token = self.tokens.get(key)
        if token is not None and not token.is_expired(leeway=LEEWAY):
            return token["access_token"]
        token = _fetch(http, auth, client_secret, timeout, journal)
        with self.lock:
            self.tokens[key] = token
        return token["access_token"]


def _fetch(http: HttpSession, auth: dict, client_secret: str, timeout: float, journal: list | None) -> OAuth2Token:
    client = http.mount_on(OAuth2Session(auth["clientId"], client_secret, scope=auth.get("scope"),
                                         token_endpoint_auth_method=auth.get("clientAuth", "client_secret_basic")))
    started = time.perf_counter()
    entry = {"method": "POST", "url": auth["tokenUrl"], "request_headers": {"Authorization": "(client credentials)"},
             "request_body": "grant_type=client_credentials"}
    try:
        token = client.fetch_token(auth["tokenUrl"], grant_type="client_credentials", timeout=timeout)
        entry.update(response_status=200, response_body={**token, "access_token": "(token)"})
        return OAuth2Token.from_dict(token)
    except Exception as e:  # Authlib raises OAuthError for error answers, requests' errors for the rest
        error = TimedOut("The token endpoint did not answer within the timeout.") if "timed out" in str(e).lower() \
            else IntegrationError(f"Fetching an OAuth2 token from {auth['tokenUrl']} failed: {str(e)[:200]}")
        entry["error"] = str(error)
        raise error from None
    finally:
        entry["duration_ms"] = (time.perf_counter() - started) * 1000
        client.close()
        if journal is not None:
            journal.append(entry)


def credentials(auth: dict | None, secrets: dict[str, str], user_data: dict, *, http: HttpSession,
                tokens: TokenCache, timeout: float, redactor: Redactor, journal: list | None = None,
                user_token: str | None = None) -> Credentials:
    """The headers and query parameters one call sends; every credential is added to `redactor` first.
    `user_token` is the user's own access token of an `oauth2-authorization-code` integration (the runner
    reads it, refreshed, from the user's sign-in)."""
    auth = auth or {"type": "none"}
    kind = auth.get("type", "none")
    secret = secrets.get(SECRET_OF.get(kind, ""), "")
    if kind == "none":
        return Credentials()
    if kind == "basic":
        pair = f"{auth.get('username', '')}:{secret}"
        redactor.add(secret)
        redactor.add(base64.b64encode(pair.encode()).decode())
        return Credentials({"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()})
    if kind == "bearer":
        redactor.add(secret)
        return Credentials({"Authorization": f"Bearer {secret}"})
    if kind == "user-token":
        token = user_data.get(auth.get("storage", "accessToken"))
        if not isinstance(token, str) or not token:
            raise IntegrationError(f"The user's token (storage '{auth.get('storage', 'accessToken')}') is missing: "
                                   "the web page passes it to the webchat at start.")
        redactor.add(token)
        return Credentials({"Authorization": f"Bearer {token}"})
    if kind == "oauth2-authorization-code":
        if not user_token:
            raise IntegrationError("The user has not signed in to this integration: a sign-in step comes first.")
        redactor.add(user_token)
        return Credentials({"Authorization": f"Bearer {user_token}"})
    if kind == "api-key":
        redactor.add(secret)
        name = auth.get("name", "X-API-Key")
        if auth.get("in", "header") == "query":
            return Credentials(query={name: secret})
        redactor.hide_header(name)
        return Credentials({name: secret})
    if kind == "oauth2-client-credentials":
        redactor.add(secret)
        token = tokens.token(http, auth, secret, timeout, journal)
        redactor.add(token)
        return Credentials({"Authorization": f"Bearer {token}"})
    raise IntegrationError(f"Unknown auth type '{kind}'.")
