"""A bot's connections to messaging platforms: create, list, edit, regenerate the token, re-verify, delete.

Each connection speaks one platform's wire format (`kind`, an adapter of `adapters`), with the adapter's
settings and secrets (sealed) beside it. Each has an inbound address (`/b/<bot>/hooks/<slug>`) and the
token inbound POSTs carry: made here, shown once, kept only as a digest and compared in constant time.
Its outbound side, where replies go, is a delivery target of `runtime.webhooks` (kind `platform`): the
platform's address, the credentials replies carry (a bearer token or basic auth, sealed, never shown
again), and the state: active, unverified until the platform's handshake (Webex Connect), or inactive
after failed deliveries until someone re-verifies it.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from sqlalchemy import select

from runtime.channels.platforms import adapters
from runtime.channels.platforms.adapters.base import Connection, PlatformError
from runtime.channels.platforms.models import RULES, PlatformConnection
from runtime.extensions import db
from runtime.keys import fernet
from runtime.management.keys import digest
from runtime.store.bots import get_bot
from runtime.store.models import utcnow
from runtime.webhooks import subscriptions
from runtime.webhooks.models import ACTIVE, PLATFORM, UNVERIFIED, WebhookDelivery, WebhookSubscription

PURPOSE = "platform-credentials"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_PER_BOT = 20
AUTH_KINDS = ("none", "bearer", "basic")


class ConnectionNotFound(LookupError):
    def __init__(self, slug: str):
        super().__init__(f"There is no platform connection '{slug}' for this bot.")


@dataclass
class Created:
    connection: dict
    token: str  # shown this once: the token inbound POSTs carry
    shown: dict  # label -> value, every secret shown this once (the token among them)


def create(bot_id: str, slug: str, name: str, url: str, *, rule: str = "bot-first",
           credentials: dict | None = None, kind: str = "arbor", settings: dict | None = None,
           secrets: dict | None = None) -> Created:
    """Save a connection speaking `kind`'s format; the token (and the adapter's generated secrets) returned
    once. Active at once, unless its platform has a handshake to pass first (Webex Connect's Verify)."""
    get_bot(bot_id)
    adapter = _adapter(kind)
    settings, sealed = adapter.configure(settings or {}, secrets or {}, {})
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug):
        raise PlatformError("A connection's short name has 1 to 64 lowercase letters, digits and dashes "
                            "(it is the last part of the inbound address).")
    if db.session.scalar(select(PlatformConnection.id).where(PlatformConnection.bot_id == bot_id,
                                                             PlatformConnection.slug == slug)):
        raise PlatformError(f"The bot has a connection '{slug}' already; pick another short name.")
    if db.session.scalar(select(db.func.count()).where(PlatformConnection.bot_id == bot_id)) >= MAX_PER_BOT:
        raise PlatformError(f"A bot has at most {MAX_PER_BOT} platform connections; delete one first.")
    if adapter.one_per_bot and db.session.scalar(select(PlatformConnection.id).where(
            PlatformConnection.bot_id == bot_id, PlatformConnection.kind == kind)):
        raise PlatformError(f"The bot has a {adapter.title} connection already (its inbound address names the bot "
                            "only); edit that one.")
    sealed = adapter.keep(bot_id, settings, sealed)
    token, shown = adapter.inbound_token(sealed)
    at_once = adapter.verified_at_once
    target = WebhookSubscription(id="plt_" + uuid4().hex, bot_id=bot_id, kind=PLATFORM,
                                 url=_target_url(adapter, settings, url), events=[],
                                 verification_token=digest(token), secret=_seal(_checked_credentials(credentials)),
                                 status=ACTIVE if at_once else UNVERIFIED,
                                 status_reason=None if at_once else f"Waiting for {adapter.title}'s Verify.",
                                 consecutive_failures=0, verified_at=utcnow() if at_once else None)
    row = PlatformConnection(id="pc_" + uuid4().hex, bot_id=bot_id, slug=slug, name=_checked_name(name),
                             rule=_checked_rule(rule), target_id=target.id, kind=kind, settings=settings or None,
                             sealed=_seal(sealed) if sealed else None)
    db.session.add(target)
    db.session.flush()  # the target first: the connection refers to it
    db.session.add(row)
    db.session.commit()
    return Created(describe(row, target), token, shown)


def edit(bot_id: str, slug: str, *, name: str | None = None, url: str | None = None, rule: str | None = None,
         credentials: dict | None = None, settings: dict | None = None, secrets: dict | None = None) -> dict:
    """Change a connection; credentials and secrets left out (None, blank) are kept as they are."""
    row, target = _get(bot_id, slug)
    if settings is not None or secrets is not None:
        kept = _unseal(row.sealed) if row.sealed else {}
        fresh, sealed = _adapter(row.kind).configure({**(row.settings or {}), **(settings or {})},
                                                      secrets or {}, kept)
        sealed = _adapter(row.kind).keep(bot_id, fresh, sealed)
        access = sealed.pop("accessToken", None)  # an inbound token typed in: kept only as its digest
        if access:
            target.verification_token = digest(access)
        row.settings, row.sealed = fresh or None, _seal(sealed) if sealed else None
        if fresh:
            target.url = _target_url(_adapter(row.kind), fresh, target.url)
    if name is not None:
        row.name = _checked_name(name)
    if rule is not None:
        row.rule = _checked_rule(rule)
    if url is not None:
        target.url = _checked_url(url)
    if credentials is not None:
        target.secret = _seal(_checked_credentials(credentials))
    db.session.commit()
    return describe(row, target)


def regenerate_token(bot_id: str, slug: str) -> str:
    """A new verification token, returned once; the old one stops working at once."""
    _, target = _get(bot_id, slug)
    token = secrets.token_urlsafe(32)
    target.verification_token = digest(token)
    db.session.commit()
    return token


def reverify(bot_id: str, slug: str) -> dict:
    """Switch a connection back on after failures (its counter cleared) and send what it is owed."""
    row, target = _get(bot_id, slug)
    adapter = _adapter(row.kind)
    if target.verified_at is None and not adapter.verified_at_once:
        raise PlatformError(f"{adapter.title} verifies this connection itself: press Verify on its side (Arbor "
                            "answers it with the verification token).")
    subscriptions.activate(target)
    return describe(row, target)


def check(bot_id: str, slug: str) -> str:
    """The Test button: the adapter tries the platform with the connection's settings; passed, the connection
    is active (what it is owed is sent). Returns what happened; PlatformError says what failed."""
    connection = load(bot_id, slug)
    said = _adapter(connection.row.kind).check(connection)
    verified(connection)
    return said


def delete(bot_id: str, slug: str) -> None:
    row, target = _get(bot_id, slug)
    adapter = _adapter(row.kind)
    db.session.delete(target)  # the connection, its deliveries and its threads go with it
    db.session.commit()
    adapter.deleted(bot_id)


def list_for(bot_id: str) -> list[dict]:
    rows = db.session.execute(select(PlatformConnection, WebhookSubscription)
                              .join(WebhookSubscription, WebhookSubscription.id == PlatformConnection.target_id)
                              .where(PlatformConnection.bot_id == bot_id).order_by(PlatformConnection.created_at))
    return [describe(row, target) for row, target in rows]


def get(bot_id: str, slug: str) -> dict:
    return describe(*_get(bot_id, slug))


def slug_of_kind(bot_id: str, kind: str) -> str:
    """The short name of the bot's connection speaking `kind` (one the bot may have once); ConnectionNotFound."""
    slug = db.session.scalar(select(PlatformConnection.slug).where(PlatformConnection.bot_id == bot_id,
                                                                   PlatformConnection.kind == kind))
    if slug is None:
        raise ConnectionNotFound(kind)
    return slug


def load(bot_id: str, slug: str) -> Connection:
    """The connection as its adapter is handed it (secrets unsealed); raises ConnectionNotFound."""
    row, target = _get(bot_id, slug)
    return Connection(row, target, _unseal(row.sealed) if row.sealed else {})


def of_target(target_id: str) -> Connection | None:
    """The connection whose delivery target is `target_id`."""
    found = db.session.execute(select(PlatformConnection, WebhookSubscription)
                               .join(WebhookSubscription, WebhookSubscription.id == PlatformConnection.target_id)
                               .where(WebhookSubscription.id == target_id)).first()
    return Connection(found[0], found[1], _unseal(found[0].sealed) if found[0].sealed else {}) if found else None


def verified(connection: Connection) -> None:
    """The platform passed its handshake: the connection is active (what it is owed is sent)."""
    if connection.target.verified_at is None or connection.target.status != ACTIVE:
        subscriptions.activate(connection.target)


def describe(row: PlatformConnection, target: WebhookSubscription) -> dict:
    """What the designer shows: never the token nor the credentials, only their kind."""
    adapter = _adapter(row.kind)
    return {"id": row.id, "slug": row.slug, "name": row.name, "bot": row.bot_id, "rule": row.rule,
            "kind": row.kind, "platform": adapter.title, "ruleName": adapter.rule_names.get(row.rule, row.rule),
            "settings": adapter.describe(Connection(row, target, {})),
            "inboundPath": adapter.inbound_path(row), "url": target.url,
            "credentials": _unseal(target.secret)["kind"], "status": target.status,
            "statusReason": target.status_reason, "consecutiveFailures": target.consecutive_failures,
            "targetId": target.id,
            "verifiedAt": target.verified_at.isoformat() if target.verified_at else None}


def reply_url(target: WebhookSubscription, delivery: WebhookDelivery) -> str:
    """Where a reply goes: the connection's address, or the adapter's for this delivery (the Bot Framework's)."""
    connection = of_target(target.id)
    return _adapter(connection.row.kind).reply_url(connection, delivery) if connection else target.url


def reply_headers(target: WebhookSubscription, delivery: WebhookDelivery, moment: datetime) -> dict[str, str]:
    """The credentials a reply carries to the platform: the adapter's own (a token it obtains), else those saved
    with the connection (the delivery target's)."""
    connection = of_target(target.id)
    own = _adapter(connection.row.kind).reply_headers(connection, delivery) if connection else None
    if own is not None:
        return own
    credentials = _unseal(target.secret)
    if credentials["kind"] == "bearer":
        return {"authorization": f"Bearer {credentials['token']}"}
    if credentials["kind"] == "basic":
        pair = f"{credentials['username']}:{credentials['password']}".encode()
        return {"authorization": "Basic " + base64.b64encode(pair).decode()}
    return {}


def _get(bot_id: str, slug: str) -> tuple[PlatformConnection, WebhookSubscription]:
    found = db.session.execute(
        select(PlatformConnection, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == PlatformConnection.target_id)
        .where(PlatformConnection.bot_id == bot_id, PlatformConnection.slug == slug)
        .execution_options(populate_existing=True)).first()
    if found is None:
        raise ConnectionNotFound(slug)
    return found[0], found[1]


def _adapter(kind: str):
    if kind not in adapters.ADAPTERS:
        raise PlatformError(f"The platform is one of {', '.join(adapters.KINDS)}.")
    return adapters.of(kind)


def _target_url(adapter, settings: dict, url: str) -> str:
    """Where the connection's deliveries go, checked by the outbound guard (when any go there)."""
    url = adapter.target_url(settings, url)
    return _checked_url(url) if adapter.delivers else url


def _checked_credentials(credentials: dict | None) -> dict:
    credentials = credentials or {"kind": "none"}
    kind = credentials.get("kind")
    if kind not in AUTH_KINDS:
        raise PlatformError("Reply credentials are none, a bearer token, or basic auth (user name and password).")
    wanted = {"none": (), "bearer": ("token",), "basic": ("username", "password")}[kind]
    for key in wanted:
        value = credentials.get(key)
        if not isinstance(value, str) or not value or len(value) > 2000 or any(c in value for c in "\r\n"):
            raise PlatformError(f"Give the {key.replace('username', 'user name')} the platform expects "
                                "(one line, up to 2,000 characters).")
    if kind == "basic" and ":" in credentials["username"]:
        raise PlatformError("A basic-auth user name has no colon.")
    return {"kind": kind, **{key: credentials[key] for key in wanted}}


def _checked_url(url: str) -> str:
    try:
        return subscriptions.checked_url(url)
    except subscriptions.SubscriptionError as e:
        raise PlatformError(str(e)) from None


def _checked_name(name: str | None) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 200:
        raise PlatformError("Give the connection a name of 1 to 200 characters (e.g. WhatsApp via Acme).")
    return name


def _checked_rule(rule: str | None) -> str:
    if rule not in RULES:
        raise PlatformError(f"The rule is one of {', '.join(RULES)}.")
    return rule


def _seal(credentials: dict) -> str:
    return fernet(PURPOSE).encrypt(json.dumps(credentials).encode()).decode()


def _unseal(sealed: str) -> dict:
    return json.loads(fernet(PURPOSE).decrypt(sealed.encode()))
