"""Integrations on the user's behalf, through the API: the OAuth 2.0 authorization-code flow with PKCE against a
local provider built with Authlib's server side. The sign-in button, consent, the callback that stores the
token and lets the conversation go on, refresh with rotation, refusal, and bad, replayed and expired states."""

from __future__ import annotations

import pytest
from integrations.conftest import ALLOW_TEST_SERVERS
from oauth_provider import Provider, Running
from sign_in_flow import BOT, callback_url, consent, local_path, publish_orders_bot, query_of, sign_in_url

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import user_tokens
from runtime.store.models import Conversation
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

BASE = "http://arbor.test"
GREETING = "Hello Eva Novak: order A-1001 is shipped."


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": ALLOW_TEST_SERVERS, "ARBOR_BASE_URL": BASE}


@pytest.fixture
def provider(clock):
    running = Running(Provider(redirect_uris=[callback_url(BASE)]))
    yield running.provider
    running.stop()


def texts(activities: list[dict]) -> list[str]:
    return [a.get("text") for a in activities if a["type"] == "message"]


def said_since(conversation_id: str, seq: int) -> list[str]:
    return [row["text"] for row in transcript(conversation_id, seq) if row.get("type") == "message"
            and row["from"]["role"] == "bot"]


def last_seq(conversation_id: str) -> int:
    return db.session.get(Conversation, conversation_id, populate_existing=True).activity_seq


def start(user: str = "u1") -> tuple[str, list[dict]]:
    conversation, activities = start_conversation(BOT, user, "test")
    return conversation.id, activities


def test_the_visitor_signs_in_and_the_bot_answers_with_data_fetched_with_their_token(app, client, provider):
    publish_orders_bot(provider)
    conversation_id, activities = start()
    assert texts(activities) == ["Sign in to Example ID to see your orders."]
    url = sign_in_url(activities)
    sent = query_of(url)
    assert url.startswith(provider.authorize_url()) and sent["code_challenge_method"] == "S256"
    assert sent["redirect_uri"] == callback_url(BASE) and "code_verifier" not in sent
    seq = last_seq(conversation_id)
    back = client.get(local_path(consent(url)))
    assert back.status_code == 200 and "You are signed in" in back.text
    assert back.headers["Cache-Control"] == "no-store" and back.headers["Referrer-Policy"] == "no-referrer"
    assert said_since(conversation_id, seq) == [GREETING]
    [token] = provider.tokens
    assert user_tokens.read(BOT, "u1", "shop", bound_to=user_tokens_binding())["access_token"] == token.access_token


def user_tokens_binding() -> str:
    from runtime.integrations.sign_in import binding
    from runtime.store.bots import get_version_doc

    return binding(get_version_doc(BOT)["integrations"]["shop"])


def test_a_signed_in_visitor_is_not_asked_again(app, client, provider):
    publish_orders_bot(provider)
    conversation_id, activities = start()
    client.get(local_path(consent(sign_in_url(activities))))
    assert texts(handle(conversation_id, Input.message("again"))) == [GREETING]
    assert len(provider.tokens) == 1


def test_the_integration_step_itself_asks_a_visitor_with_no_token_to_sign_in(app, client, provider):
    publish_orders_bot(provider, sign_in_step=False)
    conversation_id, activities = start()
    assert texts(activities) == ["Please sign in to go on."]
    seq = last_seq(conversation_id)
    client.get(local_path(consent(sign_in_url(activities))))
    assert said_since(conversation_id, seq) == [GREETING]


def test_a_message_while_waiting_shows_the_button_again(app, provider):
    publish_orders_bot(provider)
    conversation_id, activities = start()
    again = handle(conversation_id, Input.message("hello?"))
    assert sign_in_url(again) == sign_in_url(activities)


def test_tokens_are_refreshed_before_they_expire_and_rotated_refresh_tokens_are_kept(app, client, provider, clock):
    publish_orders_bot(provider)
    conversation_id, activities = start()
    client.get(local_path(consent(sign_in_url(activities))))
    first = user_tokens.read(BOT, "u1", "shop", bound_to=user_tokens_binding())
    clock.move_to(clock.later(seconds=provider.expires_in - 30))  # within a minute of expiring: refreshed
    assert texts(handle(conversation_id, Input.message("again"))) == [GREETING]
    second = user_tokens.read(BOT, "u1", "shop", bound_to=user_tokens_binding())
    assert provider.refreshes == 1 and second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"] and second["expires_at"] > first["expires_at"]
    clock.move_to(clock.later(hours=2))  # long expired: refreshed with the rotated refresh token
    assert texts(handle(conversation_id, Input.message("again"))) == [GREETING]
    third = user_tokens.read(BOT, "u1", "shop", bound_to=user_tokens_binding())
    assert provider.refreshes == 2 and third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])
    assert [t.revoked for t in provider.tokens] == [True, True, False]


def test_a_refresh_the_provider_refuses_asks_the_visitor_to_sign_in_again(app, client, provider, clock):
    publish_orders_bot(provider)
    conversation_id, activities = start()
    client.get(local_path(consent(sign_in_url(activities))))
    for token in provider.tokens:
        token.revoked = True  # the user revoked the bot's access at the provider
    clock.move_to(clock.later(hours=2))
    again = handle(conversation_id, Input.message("again"))
    assert texts(again) == ["Sign in to Example ID to see your orders."] and sign_in_url(again)
    assert user_tokens.read(BOT, "u1", "shop", bound_to=user_tokens_binding()) is None


def test_a_refused_consent_follows_on_error(app, client, provider):
    publish_orders_bot(provider)
    conversation_id, activities = start()
    seq = last_seq(conversation_id)
    back = consent(sign_in_url(activities), "deny")
    assert query_of(back)["error"] == "access_denied"
    page = client.get(local_path(back))
    assert page.status_code == 200 and "You did not allow access" in page.text
    assert said_since(conversation_id, seq) == ["No problem, maybe later."]
    assert user_tokens.signed_in(BOT, ["u1"]) == {}


def test_no_sign_in_in_time_follows_on_error_and_the_late_link_is_refused(app, client, provider, clock, jobs):
    publish_orders_bot(provider, timeout=120)
    conversation_id, activities = start()
    url = sign_in_url(activities)
    seq = last_seq(conversation_id)
    jobs.drain(until=clock.later(seconds=121))
    assert said_since(conversation_id, seq) == ["No problem, maybe later."]
    page = client.get(local_path(consent(url)))
    assert page.status_code == 400 and "expired" in page.text
    assert user_tokens.signed_in(BOT, ["u1"]) == {}


def test_a_replayed_state_is_refused_and_changes_nothing(app, client, provider):
    publish_orders_bot(provider)
    conversation_id, activities = start()
    back = local_path(consent(sign_in_url(activities)))
    assert client.get(back).status_code == 200
    seq = last_seq(conversation_id)
    replay = client.get(back)
    assert replay.status_code == 400 and "used already" in replay.text
    assert said_since(conversation_id, seq) == [] and len(provider.tokens) == 1


def test_a_state_not_signed_by_arbor_or_for_another_bot_is_refused(app, client, provider):
    publish_orders_bot(provider)
    _, activities = start()
    back = query_of(consent(sign_in_url(activities)))
    forged = client.get(f"/b/{BOT}/oauth/callback", query_string={"code": back["code"], "state": back["state"] + "x"})
    assert forged.status_code == 400 and "not a sign-in link of this bot" in forged.text
    other = client.get("/b/other-bot/oauth/callback", query_string=back)
    assert other.status_code == 400 and "not a sign-in link of this bot" in other.text
    missing = client.get(f"/b/{BOT}/oauth/callback")
    assert missing.status_code == 400
    assert provider.tokens == []


def test_a_state_expires_even_before_the_timer_fires(app, client, provider, clock):
    publish_orders_bot(provider, timeout=120)
    _, activities = start()
    url = sign_in_url(activities)
    clock.move_to(clock.later(seconds=121))
    page = client.get(local_path(consent(url)))
    assert page.status_code == 400 and "expired" in page.text and provider.tokens == []


def test_each_user_signs_in_for_themselves(app, client, provider):
    publish_orders_bot(provider)
    first, activities = start("u1")
    client.get(local_path(consent(sign_in_url(activities))))
    _, theirs = start("u2")
    assert sign_in_url(theirs)  # u1's sign-in is not u2's
    assert user_tokens.signed_in(BOT, ["u1", "u2"]) == {"u1": ["shop"]}


def test_a_clear_data_step_with_sign_out_forgets_the_users_sign_ins(app, client, provider):
    publish_orders_bot(provider)
    conversation_id, activities = start()
    client.get(local_path(consent(sign_in_url(activities))))
    _, others = start("u2")
    client.get(local_path(consent(sign_in_url(others))))
    assert texts(handle(conversation_id, Input.trigger("forget", clear=True))) == ["Forgotten."]
    assert user_tokens.signed_in(BOT, ["u1", "u2"]) == {"u2": ["shop"]}
    assert sign_in_url(handle(conversation_id, Input.message("again")))  # u1 must sign in again


def test_the_users_page_lists_sign_ins_by_name_and_signs_a_user_out(app, client, provider):
    from designer_client import Designer

    publish_orders_bot(provider)
    conversation_id, activities = start()
    client.get(local_path(consent(sign_in_url(activities))))
    designer = Designer(app, client).sign_in()
    page = client.get(f"/designer/bots/{BOT}/users")
    assert page.status_code == 200 and 'data-testid="sign-out"' in page.text and ">shop</span>" in page.text
    out = designer.post(f"/designer/bots/{BOT}/users/sign-out", {"user": "u1", "integration": "shop"})
    assert out.status_code == 302 and user_tokens.signed_in(BOT, ["u1"]) == {}
    assert 'data-testid="sign-out"' not in client.get(f"/designer/bots/{BOT}/users").text
    assert sign_in_url(handle(conversation_id, Input.message("again")))


def test_the_designer_adds_a_sign_in_step_with_its_form(app, client, provider):
    from designer_client import Designer

    publish_orders_bot(provider)
    designer = Designer(app, client).sign_in()
    step_id = designer.add_step(BOT, "sign-in", "main")
    doc, _ = designer.draft(BOT)
    [added] = [s for s in doc["dialogs"][0]["steps"] if s["id"] == step_id]
    assert added == {"id": step_id, "type": "sign-in", "use": "shop", "timeout": 600}
    form = client.get(f"/designer/bots/{BOT}/steps/{step_id}").text
    assert 'name="use"' in form and 'name="text"' in form and 'name="timeout"' in form and "onError" in form


def test_the_integration_form_binds_the_client_secret_to_the_token_address(app, client, provider):
    from designer_client import Designer

    from runtime.store import secrets

    designer = Designer(app, client).sign_in()
    bot_id = designer.create_bot()
    form = {"revision": designer.draft(bot_id)[1], "template": "rest-resource", "original": "", "name": "shop",
            "config.baseUrl": provider.url + "/api", "auth.type": "oauth2-authorization-code",
            "auth.authorizeUrl": provider.authorize_url(), "auth.tokenUrl": provider.token_url(),
            "auth.clientId": "arbor-bot", "auth.scope": "profile orders", "secret.clientSecret": "s3cret-value"}
    page = client.get(f"/designer/bots/{bot_id}/integrations/new?template=rest-resource").text
    assert "Sign-in address" in page and 'value="oauth2-authorization-code"' in page
    assert designer.post(f"/designer/bots/{bot_id}/integrations", form).status_code == 302
    assert secrets.addresses(bot_id) == {"shop.clientSecret": provider.token_url()}
    doc, _ = designer.draft(bot_id)
    assert doc["integrations"]["shop"]["auth"]["authorizeUrl"] == provider.authorize_url()
    assert "s3cret-value" not in client.get(f"/designer/bots/{bot_id}/integrations/shop").text
