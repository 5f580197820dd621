"""The Bot Framework's tokens both ways: the JWT every activity carries (`claims_of`, checked against the
issuer's OpenID metadata), and the token Arbor's replies carry (`access_token`, client credentials at the
token endpoint).

Followed: botframework-connector (botbuilder-python) `JwtTokenExtractor`, `ChannelValidation` and
`_OpenIdMetadata`, and Microsoft's "Authenticate requests with the Bot Connector API": a bearer JWT signed
with RS256 by a key the metadata's `jwks_uri` lists (looked up by `kid`; the key's `endorsements`, when it has
any, must name the activity's `channelId`), issuer `https://api.botframework.com`, audience the bot's app id,
not expired with five minutes of clock skew, and the token's service URL claim equal to the activity's
`serviceUrl`. Microsoft's documentation names that claim `serviceUrl`; its SDKs read `serviceurl`: either is
taken. The documents say "when present"; the SDKs refuse a channel token without it, and so does Arbor (an
activity's `serviceUrl` is where the bot's token goes: it must be one the issuer signed). The keys are kept per
metadata address for a day, and read again at once for a `kid` not seen (at most every five minutes, so
made-up ids cannot make Arbor hammer the issuer), as the SDK does when Microsoft rolls its keys. Keys that
cannot be read are not asked for again for FAILURE_PAUSE: meanwhile an activity is answered at once, from the
keys kept or with the same 503, rather than each one holding a web worker for two fetches' timeouts. One read
per metadata address at a time in a process: activities that come while it is under way wait for its outcome
(at most READ_TIMEOUT) rather than each making its own.
The reply token: `grant_type=client_credentials` with the app id and password and the scope
`https://api.botframework.com/.default`, kept until five minutes before it expires.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from runtime import integrations
from runtime.integrations.errors import IntegrationError
from runtime.store.models import utcnow

ALGORITHMS = ["RS256"]
LEEWAY = timedelta(minutes=5)  # ChannelValidation's clock tolerance
KEYS_MAX_AGE = timedelta(days=1)
REFETCH_AFTER = timedelta(minutes=5)  # the soonest an unknown `kid` makes the keys be read again
# After a failed read, the keys are not read again for this long: anyone can post an activity with a made-up
# token, and while the issuer is away each would otherwise hold a web worker for up to two 5 s fetches. Short,
# so that once the issuer is back, activities are refused for at most this long.
FAILURE_PAUSE = timedelta(seconds=30)
FETCH_TIMEOUT = 5  # seconds for each of the two documents (the metadata, its key set)
READ_TIMEOUT = 2 * FETCH_TIMEOUT  # the longest a read can take: what an activity waits for another's read
TOKEN_MARGIN = timedelta(minutes=5)  # a reply token is fetched again this long before it expires
SCOPE = "https://api.botframework.com/.default"
MAX_BYTES = 256 * 1024


class TokenRefused(Exception):
    """An activity whose token does not pass: `status` (401, 403; 503 when the issuer cannot be read) and what
    to change."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class _Keys:
    by_kid: dict[str, dict]
    read_at: datetime


@dataclass
class _Failure:
    reason: str
    at: datetime


class _Read:
    """A read of an issuer's keys under way: its outcome, for the activities that wait for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.outcome: _Keys | _Failure = _Failure("the read stopped", utcnow())

    def wait(self) -> _Keys | _Failure:
        if self.done.wait(READ_TIMEOUT):
            return self.outcome
        return _Failure(f"the read under way did not finish within {READ_TIMEOUT} s", utcnow())


_keys: dict[str, _Keys] = {}  # by metadata address, in this process
_failures: dict[str, _Failure] = {}  # by metadata address: the last read that failed, less than FAILURE_PAUSE ago
_reads: dict[str, _Read] = {}  # by metadata address: the read under way
_tokens: dict[tuple[str, str, str], tuple[str, datetime]] = {}  # (endpoint, app id, password digest) -> token
_lock = threading.Lock()


def claims_of(authorization: str | None, *, metadata_url: str, issuer: str, audience: str, service_url: str,
              channel_id: str) -> dict:
    """The claims of the activity's bearer JWT, once every check passed; TokenRefused saying which did not."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRefused(401, "The activity has no Authorization: Bearer <JWT> header: only activities the Bot "
                                "Framework signed are taken.")
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRefused(401, "The bearer token is not a JWT.") from None
    if header.get("alg") not in ALGORITHMS:
        raise TokenRefused(401, f"The token is signed with {str(header.get('alg'))[:20]!r}; only RS256 is taken.")
    kid = header.get("kid")
    key = _key(metadata_url, kid) if isinstance(kid, str) and kid else None
    if key is None:
        raise TokenRefused(401, f"The token is signed by a key the issuer's OpenID metadata ({metadata_url}) does not "
                                "list.")
    endorsements = key.get("endorsements")
    if isinstance(endorsements, list) and channel_id not in endorsements:
        raise TokenRefused(403, f"The signing key is not endorsed for the channel {channel_id[:40]!r}.")
    try:
        claims = jwt.decode(token, jwt.PyJWK({k: v for k, v in key.items() if k != "endorsements"}, "RS256").key,
                            algorithms=ALGORITHMS, audience=audience, issuer=issuer, leeway=LEEWAY,
                            options={"require": ["exp", "iss", "aud"]})
    except jwt.ExpiredSignatureError:
        raise TokenRefused(401, "The token has expired (five minutes of clock skew allowed).") from None
    except jwt.InvalidIssuerError:
        raise TokenRefused(401, f"The token comes from another issuer than this connection's ({issuer}).") from None
    except jwt.InvalidAudienceError:
        raise TokenRefused(401, "The token is for another bot: its audience is not this connection's app id.") from None
    except jwt.InvalidSignatureError:
        raise TokenRefused(401, "The token's signature does not match its signing key.") from None
    except jwt.PyJWTError as e:
        raise TokenRefused(401, f"The token is not valid: {str(e)[:200]}.") from None
    claimed = claims.get("serviceurl", claims.get("serviceUrl"))
    if claimed != service_url:
        raise TokenRefused(403, "The activity's serviceUrl is not the one its token was issued for.")
    return claims


def access_token(endpoint: str, app_id: str, password: str, *, scope: str = SCOPE) -> str:
    """A token for the bot's replies (kept until shortly before it expires); IntegrationError saying why not."""
    key = (endpoint, app_id, hashlib.sha256(password.encode()).hexdigest())
    with _lock:
        kept = _tokens.get(key)
    if kept and utcnow() < kept[1]:
        return kept[0]
    answer = integrations.session().request(
        "POST", endpoint, data={"grant_type": "client_credentials", "client_id": app_id, "client_secret": password,
                                "scope": scope}, timeout=10, follow_redirects=False, max_bytes=64 * 1024)
    body = _json(answer.content)
    if answer.status != 200 or not isinstance(body.get("access_token"), str):
        said = str(body.get("error_description") or body.get("error") or answer.content.decode("utf-8", "replace"))
        said = (said.replace(password, "[the app password]") if password else said)[:300]  # it may repeat it
        raise IntegrationError(f"The token endpoint {endpoint} refused the app id and password (HTTP "
                               f"{answer.status}): {said}")
    try:
        lasts = timedelta(seconds=int(body.get("expires_in", 3600)))
    except (TypeError, ValueError):
        lasts = timedelta(hours=1)
    with _lock:
        _tokens[key] = (body["access_token"], utcnow() + lasts - TOKEN_MARGIN)
    return body["access_token"]


def forget() -> None:
    """Drop what this process keeps (keys, failed reads and reply tokens): a connection's settings changed, or a
    test starts."""
    with _lock:
        _keys.clear()
        _failures.clear()
        _tokens.clear()


def _key(metadata_url: str, kid: str) -> dict | None:
    now = utcnow()
    with _lock:  # one look at what is kept, failed and under way: a read ends (recorded) under this lock too
        kept, failed, read = _keys.get(metadata_url), _failures.get(metadata_url), _reads.get(metadata_url)
        fresh = kept is not None and now - kept.read_at < KEYS_MAX_AGE
        if fresh and (kid in kept.by_kid or now - kept.read_at < REFETCH_AFTER):
            return kept.by_kid.get(kid)
        leads = read is None and (failed is None or now - failed.at >= FAILURE_PAUSE)
        if leads:
            read = _reads[metadata_url] = _Read()
    if read is not None:
        outcome = _lead(metadata_url, read, now) if leads else read.wait()
        if isinstance(outcome, _Keys):
            return outcome.by_kid.get(kid)
        failed = outcome
    if fresh:
        return kept.by_kid.get(kid)
    raise TokenRefused(503, f"Could not read the issuer's signing keys: {failed.reason}. They are read again "
                            f"{int(FAILURE_PAUSE.total_seconds())} seconds after a failure: try again later.")


def _lead(metadata_url: str, read: _Read, now: datetime) -> _Keys | _Failure:
    """Make the read the others wait for, holding no lock across the network; record its outcome and wake them
    whatever happens (an unexpected error ends it as a failed read: "the read stopped")."""
    try:
        read.outcome = _Keys(_read_keys(metadata_url), now)
    except (IntegrationError, ValueError) as e:
        read.outcome = _Failure(str(e)[:300], utcnow())  # from when the read gave up: it may have waited 10 s
    finally:
        with _lock:
            if isinstance(read.outcome, _Keys):
                _keys[metadata_url] = read.outcome
                _failures.pop(metadata_url, None)
            else:
                _failures[metadata_url] = read.outcome
            if _reads.get(metadata_url) is read:
                del _reads[metadata_url]
        read.done.set()
    return read.outcome


def _read_keys(metadata_url: str) -> dict[str, dict]:
    metadata = _get_json(metadata_url)
    jwks_uri = metadata.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise ValueError(f"the OpenID metadata at {metadata_url} names no jwks_uri")
    keys = _get_json(jwks_uri).get("keys")
    if not isinstance(keys, list):
        raise ValueError(f"the key set at {jwks_uri} has no keys")
    return {key["kid"]: key for key in keys if isinstance(key, dict) and isinstance(key.get("kid"), str)}


def _get_json(url: str) -> dict:
    answer = integrations.session().request("GET", url, timeout=FETCH_TIMEOUT, max_bytes=MAX_BYTES)
    if answer.status != 200:
        raise ValueError(f"{url} answered {answer.status}")
    found = _json(answer.content)
    if not found:
        raise ValueError(f"{url} did not answer a JSON object")
    return found


def _json(content: bytes) -> dict:
    try:
        found = json.loads(content or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
