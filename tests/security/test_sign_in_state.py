"""Promise: a sign-in link completes one wait of one conversation of one user of one bot, once, in time. Its
state is signed (a key derived from SECRET_KEY, salted with the bot); a forged, altered, another bot's, replayed
or expired state is refused with a 400 that says what to do, and changes nothing: no code is redeemed, no token
kept, the conversation does not move. The PKCE verifier never leaves the server: not in the sign-in address,
not in the state, not in the conversation's stored state."""

from __future__ import annotations

import json

import pytest
from integrations.conftest import ALLOW_TEST_SERVERS
from oauth_provider import Provider, Running
from sign_in_flow import BOT, callback_url, consent, local_path, publish_orders_bot, query_of, sign_in_url

from runtime.extensions import db
from runtime.integrations.sign_in import _verifier
from runtime.store import user_tokens
from runtime.store.models import Conversation
from runtime.turns.turn import start_conversation

BASE = "http://arbor.test"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": ALLOW_TEST_SERVERS, "ARBOR_BASE_URL": BASE}


@pytest.fixture
def provider(app, clock):
    running = Running(Provider(redirect_uris=[callback_url(BASE)]))
    with app.app_context():
        yield running.provider
        db.session.remove()
    running.stop()


def waiting(conversation_id: str) -> dict:
    return db.session.get(Conversation, conversation_id, populate_existing=True).state["waiting"]


def begin(user: str = "u1") -> tuple[str, str]:
    conversation, activities = start_conversation(BOT, user, "test")
    return conversation.id, sign_in_url(activities)


def assert_unchanged(conversation_id: str, before: dict, provider: Provider) -> None:
    assert waiting(conversation_id) == before and provider.tokens == [] and user_tokens.signed_in(BOT, ["u1"]) == {}


@pytest.mark.parametrize("change", ["tampered", "another bot", "no state", "not base64"])
def test_a_state_arbor_did_not_sign_for_this_bot_is_refused(client, provider, change):
    publish_orders_bot(provider)
    conversation_id, url = begin()
    before = waiting(conversation_id)
    back = query_of(consent(url))
    path, args = f"/b/{BOT}/oauth/callback", dict(back)
    if change == "tampered":
        args["state"] = args["state"][:-2] + ("AA" if not args["state"].endswith("AA") else "BB")
    elif change == "another bot":
        path = "/b/another/oauth/callback"
    elif change == "no state":
        del args["state"]
    else:
        args["state"] = "!!!"
    page = client.get(path, query_string=args)
    assert page.status_code == 400 and "not a sign-in link of this bot" in page.text
    assert_unchanged(conversation_id, before, provider)


def test_a_state_is_used_once(client, provider):
    publish_orders_bot(provider)
    conversation_id, url = begin()
    back = local_path(consent(url))
    assert client.get(back).status_code == 200
    after = waiting(conversation_id)
    replay = client.get(back)
    assert replay.status_code == 400 and "used already" in replay.text
    assert waiting(conversation_id) == after and len(provider.tokens) == 1


def test_a_state_expires_with_the_steps_wait_on_the_clock(client, provider, clock):
    publish_orders_bot(provider, timeout=300)
    conversation_id, url = begin()
    before = waiting(conversation_id)
    clock.move_to(clock.later(seconds=301))
    page = client.get(local_path(consent(url)))
    assert page.status_code == 400 and "expired" in page.text
    assert_unchanged(conversation_id, before, provider)


def test_a_link_completes_only_its_own_conversations_wait(client, provider):
    publish_orders_bot(provider)
    first, url = begin("u1")
    second, theirs = begin("u2")
    before = waiting(second)
    client.get(local_path(consent(url)))
    assert waiting(second) == before and user_tokens.signed_in(BOT, ["u1", "u2"]) == {"u1": ["shop"]}
    assert query_of(url)["state"] != query_of(theirs)["state"]


def test_the_pkce_verifier_never_leaves_the_server(client, provider):
    publish_orders_bot(provider)
    conversation_id, url = begin()
    nonce = waiting(conversation_id)["memo"]["nonce"]
    verifier = _verifier(nonce)
    stored = json.dumps(db.session.get(Conversation, conversation_id).state)
    assert verifier not in url and verifier not in stored and query_of(url)["code_challenge"] != verifier
    assert client.get(local_path(consent(url))).status_code == 200  # the provider checked it against the challenge
