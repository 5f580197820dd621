"""The visitor's language over Direct Line: the page's `locale`, else the browser's Accept-Language, else the
default."""

from __future__ import annotations

from directline_client import DL, Chat, bearer, secret_of, texts


def greeting(client, secret: str, body: dict | None = None, **headers) -> list[str]:
    generated = client.post(f"{DL}/tokens/generate", headers={**bearer(secret), **headers}, json=body or {})
    assert generated.status_code == 200, generated.get_json()
    answer = generated.get_json()
    return texts(Chat(client, answer["token"], answer["conversationId"]).poll())


def test_the_page_locale_then_the_browser_then_the_default(app, client, bots):
    bots.load("polyglot")
    secret = secret_of(app, "polyglot")
    assert greeting(client, secret, {"locale": "cs-CZ"}, **{"Accept-Language": "de"}) == \
        ["Ahoj ty!", "Čaj, nebo kávu?"]
    assert greeting(client, secret, **{"Accept-Language": "fr-FR,de-AT;q=0.8,en;q=0.5"}) == \
        ["Hallo du!", "Tee oder Kaffee?"]
    assert greeting(client, secret, **{"Accept-Language": "fr"}) == ["Hello there!", "Tea or coffee?"]
    assert greeting(client, secret, {"locale": "xx"}) == ["Hello there!", "Tea or coffee?"]


def test_a_choice_switches_the_language_and_answers_follow_it(app, client, bots):
    bots.load("polyglot")
    chat = Chat.generate(client, secret_of(app, "polyglot"), {"locale": "de"})
    greeting = chat.poll()
    assert texts(greeting) == ["Hallo du!", "Tee oder Kaffee?"] and {a["locale"] for a in greeting} == {"de"}
    assert texts(chat.say("Sprache wechseln"))[-1] == "Welche Sprache?"
    switched = chat.say("Česky")
    assert texts(switched)[-2:] == ["Ahoj ty!", "Čaj, nebo kávu?"] and switched[-1]["locale"] == "cs"
    assert texts(chat.say("kavu"))[-1] == "Jedno coffee se nese."


def test_a_locale_that_is_not_a_tag_is_refused(app, client, bots):
    bots.load("polyglot")
    answer = client.post(f"{DL}/tokens/generate", headers=bearer(secret_of(app, "polyglot")), json={"locale": 7})
    assert answer.status_code == 400 and "language tag" in answer.get_json()["error"]["message"]
