"""Sign-in: an integration that acts for one user, with that user's consent (auth `oauth2-authorization-code`).

The OAuth 2.0 authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636), done by Authlib's client over the
guarded session. A step that needs the user's token and finds none (`offer`) sends a sign-in button: the
provider's authorization address with a `state` that is signed (a key derived from SECRET_KEY, salted with
the bot), names the conversation, the user, the step and a fresh nonce, and expires with the step's wait.
The PKCE verifier is derived from that nonce with another derived key, so it is neither stored nor ever
sent through the browser. The provider sends the browser back to `/b/<bot>/oauth/callback` (`finish`): the
state must be this bot's, unexpired, and its nonce the one the conversation still waits on (so it is used
once); the code is exchanged, the token kept sealed per user (`runtime.store.user_tokens`), and the
conversation goes on where it waited, its reply reaching the widget through the conversation's stream.

Tokens are refreshed before they expire (`access_token`, LEEWAY early); a provider that rotates refresh
tokens gets the new one kept. The client secret is a bot secret bound to the token URL's address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749 import OAuth2Token
from flask import Blueprint, current_app, has_request_context, make_response, render_template, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from requests import RequestException, TooManyRedirects

from runtime.extensions import db
from runtime.integrations.calls import home
from runtime.integrations.errors import IntegrationError
from runtime.integrations.http import HttpSession
from runtime.keys import derived_key
from runtime.steps.base import Input
from runtime.store import secrets as bot_secrets
from runtime.store import user_tokens
from runtime.store.bots import DRAFT, get_bot, load_indexed
from runtime.store.models import Conversation
from runtime.turns.turn import ConversationNotFound, handle

log = logging.getLogger(__name__)

KIND = "oauth2-authorization-code"
LEEWAY = 60  # seconds before its expiry a token is refreshed
MAX_WAIT = 24 * 3600  # the longest a sign-in button stays good (the step's `timeout` is at most this)
TOKEN_TIMEOUT = 10.0  # seconds the provider's token endpoint gets to answer


class SignInNeeded(IntegrationError):
    """The user has no usable token for the integration: they must sign in (again)."""


def binding(integration: dict) -> str:
    """The addresses a user's token is granted for: the token URL's and the integration's own."""
    auth, config = integration.get("auth") or {}, integration.get("config") or {}
    return f"{bot_secrets.destination(auth.get('tokenUrl'))} {bot_secrets.destination(home(config, {}))}"


def redirect_uri(bot_id: str) -> str:
    """The callback address to register at the provider: from ARBOR_BASE_URL, else from this request."""
    base = current_app.config.get("ARBOR_BASE_URL") or (request.host_url if has_request_context() else None)
    if not base:
        raise IntegrationError("The sign-in button needs Arbor's public address: set ARBOR_BASE_URL.")
    return f"{base.rstrip('/')}/b/{bot_id}/oauth/callback"


def _signer(bot_id: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(derived_key("sign-in-state"), salt=f"bot:{bot_id}")


def _verifier(nonce: str) -> str:
    """The PKCE code verifier of one sign-in: 43 characters, unguessable without SECRET_KEY, never stored."""
    digest = hmac.new(derived_key("sign-in-pkce"), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _client(http: HttpSession, bot_id: str, integration: dict, client_secret: str | None = None) -> OAuth2Session:
    auth = integration["auth"]
    client = http.mount_on(OAuth2Session(auth["clientId"], client_secret, scope=auth.get("scope") or None,
                                         redirect_uri=redirect_uri(bot_id), code_challenge_method="S256",
                                         token_endpoint_auth_method=auth.get("clientAuth", "client_secret_basic")))
    client.max_redirects = 0  # a 307 would resend the code, verifier and secret to wherever it points
    return client


def _unreachable(e: Exception) -> str:
    """Why the token address did not answer, in words that say what to change (no secret is in them)."""
    if isinstance(e, TooManyRedirects):
        return "it answered with a redirect, which is not followed: set the token URL to the final address"
    return str(e)[:300].rstrip(".") if isinstance(e, IntegrationError) else type(e).__name__


def client_secret(bot_id: str, integration: dict) -> str:
    """The integration's client secret, bound to its token URL's address; SecretMissing when it is not."""
    name = (integration.get("secrets") or {}).get("clientSecret")
    if not name:
        raise bot_secrets.SecretMissing(bot_id, "(the 'clientSecret' of the integration's auth)")
    return bot_secrets.values(bot_id, {name}, home=lambda _: integration["auth"]["tokenUrl"])[name]


def offer(http: HttpSession, bot_id: str, conversation_id: str, user_id: str, step_id: str, use: str,
          integration: dict, seconds: int) -> dict:
    """What a step shows to let the user sign in: `{"url": the provider's address, "nonce"}`."""
    nonce = secrets.token_urlsafe(16)
    state = _signer(bot_id).dumps({"c": conversation_id, "u": user_id, "s": step_id, "i": use, "n": nonce,
                                   "t": min(int(seconds), MAX_WAIT)})
    client = _client(http, bot_id, integration)
    try:
        url, _ = client.create_authorization_url(integration["auth"]["authorizeUrl"], state=state,
                                                 code_verifier=_verifier(nonce))
    finally:
        client.close()
    return {"url": url, "nonce": nonce}


def access_token(http: HttpSession, bot_id: str, user_id: str, use: str, integration: dict) -> str:
    """The user's live access token for `use`, refreshed first when it expires within LEEWAY seconds (a rotated
    refresh token replaces the old one). SignInNeeded when there is none, or it can no longer be refreshed."""
    bound = binding(integration)
    token = user_tokens.read(bot_id, user_id, use, bound_to=bound)
    if token is None:
        raise SignInNeeded(f"The user has not signed in to '{use}'.")
    if not OAuth2Token(token).is_expired(leeway=LEEWAY):
        return token["access_token"]
    if not token.get("refresh_token"):
        user_tokens.forget(bot_id, user_id, use)
        raise SignInNeeded(f"The user's sign-in to '{use}' expired and cannot be refreshed.")
    client = _client(http, bot_id, integration, client_secret(bot_id, integration))
    try:
        fresh = dict(client.refresh_token(integration["auth"]["tokenUrl"], refresh_token=token["refresh_token"],
                                          timeout=TOKEN_TIMEOUT))
    except AuthlibBaseError as e:  # refused (invalid_grant: revoked, or rotated by another process first)
        again = user_tokens.read(bot_id, user_id, use, bound_to=bound)
        if again and again.get("refresh_token") != token["refresh_token"] \
                and not OAuth2Token(again).is_expired(leeway=LEEWAY):
            return again["access_token"]
        user_tokens.forget(bot_id, user_id, use)
        raise SignInNeeded(f"The provider refused to refresh the user's sign-in to '{use}' ({e.error}).") from None
    except RequestException as e:
        raise IntegrationError(f"The token endpoint could not be reached to refresh the sign-in: "
                               f"{_unreachable(e)}.") from None
    finally:
        client.close()
    user_tokens.save(bot_id, user_id, use, _kept(fresh), bound_to=bound)
    return fresh["access_token"]


def _kept(token: dict) -> dict:
    return {key: token[key] for key in ("access_token", "refresh_token", "token_type", "expires_at", "scope")
            if token.get(key) is not None}


def forget_user(committed, effect: dict) -> None:
    """After-commit handler of `sign-in.forget` (a clear-data step with `signOut`): the user's sign-ins to every
    integration of the bot are deleted. Idempotent, as a durable handler must be."""
    user_tokens.forget(committed.conversation.bot_id, committed.conversation.user_id)


@dataclass
class Outcome:
    """What the callback page says: its status and a sentence for the person in that browser tab."""

    status: int
    message: str


EXPIRED = Outcome(400, "This sign-in link has expired. Go back to the chat and ask again.")
NOT_OURS = Outcome(400, "This is not a sign-in link of this bot.")
USED = Outcome(400, "This sign-in link was used already, or the chat has moved on. Go back to the chat.")


def finish(http: HttpSession, bot_id: str, args: dict) -> Outcome:
    """The provider sent the browser back: check the state, exchange the code, keep the token, and let the
    conversation go on (or follow the step's onError when the user refused or the exchange failed)."""
    try:
        found, signed_at = _signer(bot_id).loads(str(args.get("state", "")), max_age=MAX_WAIT,
                                                 return_timestamp=True)
        conversation_id, user_id, step_id, use, nonce, seconds = (
            found["c"], found["u"], found["s"], found["i"], found["n"], found["t"])
    except SignatureExpired:
        return EXPIRED
    except (BadSignature, KeyError, TypeError):
        return NOT_OURS
    if time.time() - signed_at.timestamp() > seconds:
        return EXPIRED
    conversation = db.session.get(Conversation, conversation_id, populate_existing=True)
    db.session.commit()
    waiting = ((conversation.state or {}).get("waiting") or {}) if conversation else {}
    if conversation is None or conversation.bot_id != bot_id or conversation.user_id != user_id:
        return NOT_OURS
    if waiting.get("step") != step_id or (waiting.get("memo") or {}).get("nonce") != nonce:
        return USED
    if args.get("error"):
        refused = args["error"] == "access_denied"
        result = {"ok": False, "error": "The user did not allow access." if refused else
                  f"The provider refused the sign-in ({str(args['error'])[:100]})."}
        outcome = Outcome(200, "You did not allow access. Go back to the chat." if refused
                          else "The sign-in did not work. Go back to the chat.")
    else:
        result, outcome = _exchange(http, bot_id, conversation, use, nonce, str(args.get("code", "")))
    try:
        handle(conversation_id, Input.result(step_id, result), client_key=f"sign-in:{nonce}")
    except ConversationNotFound:
        return USED
    return outcome


def _exchange(http: HttpSession, bot_id: str, conversation: Conversation, use: str, nonce: str,
              code: str) -> tuple[dict, Outcome]:
    number = conversation.bot_version if conversation.bot_version == DRAFT else (
        get_bot(bot_id).published_version or conversation.bot_version)
    integration = (load_indexed(bot_id, number).doc.get("integrations") or {}).get(use)
    failed = Outcome(200, "The sign-in did not work. Go back to the chat.")
    if not integration or (integration.get("auth") or {}).get("type") != KIND:
        return {"ok": False, "error": f"The integration '{use}' no longer signs users in."}, failed
    try:
        client = _client(http, bot_id, integration, client_secret(bot_id, integration))
    except (bot_secrets.SecretMissing, IntegrationError) as e:
        return {"ok": False, "error": str(e)}, failed
    try:
        token = client.fetch_token(integration["auth"]["tokenUrl"], grant_type="authorization_code", code=code,
                                   code_verifier=_verifier(nonce), timeout=TOKEN_TIMEOUT)
    except AuthlibBaseError as e:
        return {"ok": False, "error": f"The provider refused the code ({e.error})."}, failed
    except (RequestException, IntegrationError) as e:
        return {"ok": False, "error": f"The token endpoint could not be reached: {_unreachable(e)}."}, failed
    finally:
        client.close()
    user_tokens.save(bot_id, conversation.user_id, use, _kept(dict(token)), bound_to=binding(integration))
    return {"ok": True, "signedIn": True}, Outcome(200, "You are signed in. Go back to the chat.")


bp = Blueprint("sign_in", __name__)


@bp.get("/b/<bot>/oauth/callback")
def callback(bot: str):
    """Where the provider sends the user's browser back; the page only says what happened (the chat goes on in
    the widget). Never cached, and the code in its address is sent nowhere else (no referrer)."""
    from runtime.integrations import session

    outcome = finish(session(), bot, request.args)
    response = make_response(render_template("sign_in.html", message=outcome.message), outcome.status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
