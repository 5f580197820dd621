"""A bot whose integration acts for the visitor (auth `oauth2-authorization-code`) against the local provider
(tests/oauth_provider.py), and the visitor's side of the sign-in: the button's address, the consent, the
provider's redirect back to Arbor. Shared by the API, security and browser tests of the sign-in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from oauth_provider import CLIENT_ID, CLIENT_SECRET, Provider

from runtime.store.bots import import_bot
from runtime.store.secrets import set_secret

BOT = "orders"
CARD = "application/vnd.microsoft.card.signin"


def callback_url(base: str) -> str:
    return f"{base.rstrip('/')}/b/{BOT}/oauth/callback"


def orders_bot(provider: Provider, *, sign_in_step: bool = True, timeout: int = 600) -> dict:
    """Signs the visitor in (or lets the integration step ask), fetches their profile with their token, says it."""
    steps = [{"id": "s1", "type": "sign-in", "use": "shop", "text": "Sign in to Example ID to see your orders.",
              "timeout": timeout, "onError": {"action": "dialog", "dialog": "later"}}] if sign_in_step else []
    steps += [{"id": "i1", "type": "integration", "use": "shop", "output": "me", "timeout": 5,
               "params": {"resource": "me", "action": "list"}, "onError": {"action": "dialog", "dialog": "later"}},
              {"id": "m1", "type": "message",
               "text": "Hello {{ me.name }}: order {{ me.orders[0].id }} is {{ me.orders[0].status }}."}]
    return {"format": 1, "id": BOT, "name": "Orders", "start": "main",
            "integrations": {"shop": {
                "template": "rest-resource", "config": {"baseUrl": provider.url + "/api"},
                "auth": {"type": "oauth2-authorization-code", "authorizeUrl": provider.authorize_url(),
                         "tokenUrl": provider.token_url(), "clientId": CLIENT_ID, "scope": "profile orders"},
                "secrets": {"clientSecret": "shop.clientSecret"}}},
            "dialogs": [{"id": "main", "steps": steps}, {"id": "later", "steps": [
                {"id": "l1", "type": "message", "text": "No problem, maybe later."}]},
                        {"id": "forget", "steps": [{"id": "f1", "type": "clear-data", "signOut": True},
                                                   {"id": "f2", "type": "message", "text": "Forgotten."}]}]}


def publish_orders_bot(provider: Provider, **options) -> dict:
    """Import and publish the bot, with its client secret bound to the provider's token URL (app context)."""
    doc = orders_bot(provider, **options)
    import_bot(doc, publish=True)
    set_secret(BOT, "shop.clientSecret", CLIENT_SECRET, bound_to=provider.token_url())
    return doc


def sign_in_url(activities: list[dict]) -> str:
    """The address of the sign-in button among the bot's activities."""
    [url] = [button["value"] for a in activities for attachment in a.get("attachments") or []
             if attachment.get("contentType") == CARD for button in attachment["content"]["buttons"]]
    return url


def consent(url: str, answer: str = "allow") -> str:
    """The visitor allows (or denies) at the provider: the address the provider sends the browser back to."""
    response = requests.get(url, params={"consent": answer}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def local_path(url: str) -> str:
    """An absolute address as the test client requests it: path and query."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
