"""Who may use Direct Line: secrets, tokens (forged, expired, refreshed, of another conversation), CORS,
the anonymous webchat token URL of public bots (origins, rate limit), and their CLI commands."""

from __future__ import annotations

import time

import jwt
import pytest
from directline_client import DL, Chat, FakeClock, bearer, secret_of, texts, user_of
from limits import parse
from sqlalchemy import select

from runtime.channels.directline.secret import DirectLineSecret
from runtime.extensions import db

SHOP = "https://shop.example"
PREFLIGHT_HEADERS = "authorization,content-type,x-ms-bot-agent,x-requested-with"


@pytest.fixture
def secret(app, bots):
    bots.load("dl-shop")
    return secret_of(app, "dl-shop")


@pytest.fixture
def clock(app):
    app.config["DIRECTLINE_CLOCK"] = clock = FakeClock(time.time())
    return clock


def origins(runner, *args: str):
    return runner.invoke(args=["bots", "origins", "dl-shop", *args])


def anonymous(client, origin: str | None = SHOP, bot: str = "dl-shop", **kwargs):
    return client.post(f"/b/{bot}/webchat/token", headers={"Origin": origin} if origin else {}, **kwargs)


# --- credentials ---------------------------------------------------------------------------------

def test_no_credential_is_401_a_wrong_one_403(client, secret):
    chat = Chat.generate(client, secret)
    for headers, status, code in [({}, 401, "MissingCredential"), ({"Authorization": "Basic abc"}, 401,
                                                                    "MissingCredential"),
                                  (bearer("not-a-secret"), 403, "InvalidSecret"),
                                  (bearer(chat.token[:-2] + "xx"), 403, "InvalidToken")]:
        response = client.get(chat.url, headers=headers)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)


def test_a_token_signed_with_another_key_is_refused(app, client, secret):
    chat = Chat.generate(client, secret)
    claims = jwt.decode(chat.token, options={"verify_signature": False})
    forged = jwt.encode(claims, "a-guessed-key-of-thirty-two-bytes", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (forged, unsigned):
        response = client.get(chat.url, headers=bearer(token))
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "InvalidToken"


def test_a_token_expires_and_refreshing_keeps_the_conversation(app, client, secret, clock):
    app.config["DIRECTLINE_TOKEN_TTL"] = 60
    chat = Chat.generate(client, secret)
    clock.advance(50)
    refreshed = client.post(f"{DL}/tokens/refresh", headers=bearer(chat.token))
    assert refreshed.status_code == 200
    answer = refreshed.get_json()
    assert answer["conversationId"] == chat.conversation_id and answer["expires_in"] == 60
    assert user_of(answer["token"]) == chat.user_id
    clock.advance(20)  # the first token is now 70 s old, the refreshed one 20 s
    expired = client.get(chat.url, headers=bearer(chat.token))
    assert expired.status_code == 403 and expired.get_json()["error"]["code"] == "TokenExpired"
    assert client.post(f"{DL}/tokens/refresh", headers=bearer(chat.token)).status_code == 403
    chat.token = answer["token"]
    assert texts(chat.poll()) == ["Hi there!", "What next?"]


def test_a_token_of_one_conversation_opens_no_other(client, secret):
    mine, theirs = Chat.generate(client, secret), Chat.generate(client, secret)
    for response in (client.get(theirs.url, headers=bearer(mine.token)),
                     client.post(theirs.url, headers=bearer(mine.token), json={"type": "message", "text": "hi"}),
                     client.get(f"{DL}/conversations/{theirs.conversation_id}", headers=bearer(mine.token)),
                     client.get(f"{DL}/conversations/nothing-here/activities", headers=bearer(mine.token))):
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "WrongConversation"
    assert len(theirs.poll()) == 2  # nothing was posted into it


def test_an_unknown_conversation_is_404(client, secret):
    response = client.get(f"{DL}/conversations/nothing-here/activities", headers=bearer(secret))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "ConversationNotFound"


def test_a_secret_opens_only_its_bots_conversations(app, bots, client, secret):
    bots.load("counter")
    other = Chat.generate(client, secret_of(app, "counter"))
    response = client.get(other.url, headers=bearer(secret))
    assert response.status_code == 403


def test_tokens_are_generated_with_the_secret_and_refreshed_as_tokens(client, secret):
    chat = Chat.generate(client, secret)
    generate = client.post(f"{DL}/tokens/generate", headers=bearer(chat.token))
    assert generate.status_code == 403 and generate.get_json()["error"]["code"] == "SecretRequired"
    refresh = client.post(f"{DL}/tokens/refresh", headers=bearer(secret))
    assert refresh.status_code == 403 and refresh.get_json()["error"]["code"] == "TokenRequired"


def test_an_unpublished_bot_opens_no_conversation(app, bots, client):
    bots.load("store-basics", publish=False)
    response = client.post(f"{DL}/tokens/generate", headers=bearer(secret_of(app, "store-basics")))
    assert response.status_code == 404 and "publish it first" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("body", [{"user": "eva"}, {"user": {"id": ""}}, {"user": {"id": 5}},
                                  {"userData": [1]}])
def test_a_start_body_that_does_not_fit_is_400(client, secret, body):
    response = client.post(f"{DL}/tokens/generate", headers=bearer(secret), json=body)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "BadArgument"


# --- the secret and its command --------------------------------------------------------------------

def test_the_secret_command_prints_the_same_secret_until_regenerated(app, bots, client, runner):
    bots.load("dl-shop")
    first = runner.invoke(args=["directline", "secret", "dl-shop"])
    assert first.exit_code == 0 and "new Direct Line secret" in first.stderr
    secret = first.stdout.strip()
    again = runner.invoke(args=["directline", "secret", "dl-shop"])
    assert (again.stdout.strip(), again.stderr) == (secret, "")
    with app.app_context():
        row = db.session.scalar(select(DirectLineSecret))
        assert secret not in f"{row.digest} {row.sealed}"  # neither stored nor derivable in clear
    assert client.post(f"{DL}/tokens/generate", headers=bearer(secret)).status_code == 200

    renewed = runner.invoke(args=["directline", "secret", "dl-shop", "--regenerate"]).stdout.strip()
    assert renewed != secret
    assert client.post(f"{DL}/tokens/generate", headers=bearer(secret)).status_code == 403
    assert client.post(f"{DL}/tokens/generate", headers=bearer(renewed)).status_code == 200


def test_the_secret_command_fails_plainly(app, bots, runner):
    unknown = runner.invoke(args=["directline", "secret", "nobody"])
    assert unknown.exit_code == 1 and unknown.stderr == "error: There is no bot 'nobody'.\n"
    bots.load("dl-shop")
    runner.invoke(args=["directline", "secret", "dl-shop"])
    app.config["SECRET_KEY"] = "another"
    unreadable = runner.invoke(args=["directline", "secret", "dl-shop"])
    assert unreadable.exit_code == 1 and "--regenerate" in unreadable.stderr


# --- CORS ----------------------------------------------------------------------------------------

def test_preflights_answer_what_webchat_asks(app, client, secret, runner):
    chat = Chat.generate(client, secret)
    origins(runner, SHOP)

    def preflight(url: str, origin: str = SHOP):
        response = client.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": PREFLIGHT_HEADERS})
        assert response.status_code == 200, url
        assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
        assert response.headers["Access-Control-Allow-Headers"] == PREFLIGHT_HEADERS
        return response.headers.get("Access-Control-Allow-Origin")

    # URLs that name the bot (its conversation, its webchat) answer the bot's origins
    assert preflight(f"{chat.url}?watermark=3") == preflight("/b/dl-shop/webchat/token") == SHOP
    assert preflight(f"{chat.url}?watermark=4", "https://evil.example") is None
    # URLs whose bot only the credential names answer any origin: the real response then decides
    assert preflight(f"{DL}/conversations") == preflight(f"{DL}/tokens/refresh") == "*"
    bare = client.options(chat.url, headers={"Origin": SHOP})  # no headers asked: WebChat's four allowed
    assert bare.headers["Access-Control-Allow-Headers"] == "authorization, content-type, x-ms-bot-agent, " \
                                                           "x-requested-with"


def test_every_response_carries_allow_origin(client, secret, runner):
    chat = Chat.generate(client, secret)
    page = {"Origin": SHOP}
    assert client.get(chat.url, headers={**bearer(chat.token), **page}).headers["Access-Control-Allow-Origin"] == "*"
    origins(runner, SHOP)
    for response in (client.get(chat.url, headers={**bearer(chat.token), **page}),
                     client.get(chat.url, headers=page),  # errors too
                     client.post(f"{DL}/tokens/refresh", headers={**bearer(chat.token), **page})):
        assert response.headers["Access-Control-Allow-Origin"] == SHOP
        assert "Origin" in response.headers["Vary"]
    origins(runner, "*")
    assert client.get(chat.url, headers={**bearer(chat.token), **page}).headers["Access-Control-Allow-Origin"] == "*"


# --- the anonymous webchat token of public bots ----------------------------------------------------

def test_a_visitor_of_an_allowed_origin_gets_a_conversation(client, bots, runner):
    bots.load("dl-shop")
    origins(runner, SHOP)
    response = anonymous(client, json={"user": {"id": "dl_someone_else"}, "userData": {"name": "Ida"}})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    answer = response.get_json()
    assert set(answer) == {"conversationId", "token", "expires_in", "streamUrl"}
    assert user_of(answer["token"]).startswith("dl_") and user_of(answer["token"]) != "dl_someone_else"
    started = client.post(f"{DL}/conversations", headers=bearer(answer["token"]))
    assert started.status_code == 200
    chat = Chat(client, started.get_json()["token"], answer["conversationId"])
    assert texts(chat.poll()) == ["Hi Ida!", "What next?"]


def test_other_origins_get_403(client, bots, runner):
    bots.load("dl-shop")
    refused = anonymous(client)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "OriginNotAllowed"
    # The page may read the refusal (it says only that), so the widget tells it from being offline.
    assert refused.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Share panel" in refused.get_json()["error"]["message"]
    origins(runner, SHOP)
    for origin in ("https://evil.example", "http://shop.example", None):
        assert anonymous(client, origin).status_code == 403
    origins(runner, "*")
    assert anonymous(client, "https://any.example").status_code == 200
    assert anonymous(client, None).status_code == 200
    assert anonymous(client, bot="nobody").get_json()["error"]["code"] == "BotNotFound"  # "*" opens no other bot


def test_a_flood_from_one_client_is_limited(app, client, bots, runner):
    bots.load("dl-shop")
    origins(runner, SHOP)
    allowed = parse(app.config["WEBCHAT_TOKEN_RATE_LIMIT"]).amount  # the default, 20 a minute
    statuses = [anonymous(client).status_code for _ in range(1000)]
    assert statuses[:allowed] == [200] * allowed and set(statuses[allowed:]) == {429}
    limited = anonymous(client)
    assert limited.get_json()["error"] == {
        "code": "TooManyRequests", "message": "Too many new chats from this address; try again in a minute."}
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["Access-Control-Allow-Origin"] == SHOP
    another = anonymous(client, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert another.status_code == 200  # per client
    assert client.options("/b/dl-shop/webchat/token", headers={"Origin": SHOP}).status_code == 200


def test_the_origins_command(runner, bots):
    bots.load("dl-shop")
    assert origins(runner).stdout == ""
    saved = origins(runner, "HTTPS://Shop.Example/", "https://shop.example:443", "http://localhost:8000")
    assert saved.exit_code == 0 and saved.stdout.splitlines() == ["https://shop.example", "http://localhost:8000"]
    assert origins(runner).stdout.splitlines() == ["https://shop.example", "http://localhost:8000"]
    bad = origins(runner, "https://shop.example/page")
    assert bad.exit_code == 1 and "scheme and host only" in bad.stderr
    assert origins(runner, "--clear").stdout == ""
    assert runner.invoke(args=["bots", "origins", "nobody"]).exit_code == 1
