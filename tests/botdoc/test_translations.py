"""One bot, many languages: format 2, text ids, the engine speaking the visitor's language, the problems."""

from __future__ import annotations

import pytest
from chatting import Chat, texts

from runtime import botdoc
from runtime.botdoc import translations


def bot(**extra) -> dict:
    return {"format": 2, "id": "t", "name": "T", "start": "a", "fallback": "nope", "languages": ["en", "cs", "de"],
            "dialogs": [
                {"id": "a", "steps": [
                    {"id": "hi", "type": "message", "text": "Hello {{ name or 'there' }}!",
                     "buttons": [{"title": "Help", "url": "https://example.com/help"}]},
                    {"id": "q", "type": "question", "text": "Your e-mail?", "storage": "email", "validate": "email"},
                    {"id": "c", "type": "choice", "text": "What do you need?", "storage": "topic", "options": [
                        {"title": "A loan", "steps": [{"id": "l", "type": "message", "text": "Loans it is."}]},
                        {"title": "Savings", "value": "save"}]},
                    {"id": "bye", "type": "message", "text": "Bye."}]},
                {"id": "nope", "steps": [{"id": "n", "type": "message", "text": "Pardon?"}]}],
            **extra}


CS = {"hi/text": "Ahoj {{ name or 'ty' }}!", "hi/buttons/0/title": "Pomoc", "q/text": "Váš e-mail?",
      "c/text": "Co potřebujete?", "c/options/0/title": "Půjčku", "c/options/1/title": "Spoření",
      "l/text": "Tedy půjčka.", "bye/text": "Na shledanou.", "n/text": "Prosím?"}


def test_format_1_becomes_2_with_its_locale_as_the_one_language():
    old = {"format": 1, "id": "t", "name": "T", "locale": "cs", "start": "a",
           "dialogs": [{"id": "a", "steps": [{"id": "m", "type": "message", "text": "Ahoj"}]}]}
    new = botdoc.check(old)
    assert new["format"] == 3 and new["languages"] == ["cs"] and "locale" not in new
    assert old["locale"] == "cs"  # the input is not changed
    assert texts(Chat(old).last) == ["Ahoj"]


def test_text_ids_are_step_ids_and_the_field():
    ids = [text_id for text_id, _, _ in translations.texts(bot())]
    assert ids == ["hi/text", "hi/buttons/0/title", "q/text", "c/text", "c/options/0/title", "c/options/1/title",
                   "l/text", "bye/text", "n/text"]


def test_the_visitor_gets_their_language_and_typed_options_match_it():
    c = Chat(bot(translations={"cs": CS}), language="cs-CZ")
    assert texts(c.last) == ["Ahoj ty!", "Váš e-mail?"] and c.buttons == ["Pomoc"]
    assert c.say("eva@example.com") == ["Co potřebujete?"]
    assert c.buttons == ["Půjčku", "Spoření"]
    assert c.say("pujcky") == ["Tedy půjčka.", "Na shledanou."]  # typed in Czech, no accents, a typo
    assert c.data["topic"] == "A loan"  # stored the same in every language
    assert c.state["language"] == "cs"


def test_engine_phrases_follow_the_language():
    c = Chat(bot(translations={"cs": CS}), language="cs")
    assert c.say("not an address") == ["To nevypadá jako e-mailová adresa. Zkuste to prosím znovu."]
    d = Chat(bot(), language="de")
    assert d.say("x") == ["Das sieht nicht wie eine E-Mail-Adresse aus. Bitte versuchen Sie es noch einmal."]


def test_missing_translations_fall_back_to_the_default():
    c = Chat(bot(translations={"cs": {"hi/text": "Ahoj!"}}), language="cs")
    assert texts(c.last) == ["Ahoj!", "Your e-mail?"]
    assert texts(Chat(bot(translations={"cs": CS}), language="fr").last)[0] == "Hello there!"
    assert texts(Chat(bot(translations={"cs": CS})).last)[0] == "Hello there!"


def test_a_choice_or_a_set_of_user_language_switches_mid_conversation():
    doc = bot(translations={"cs": CS})
    doc["dialogs"][0]["steps"][:0] = [{"id": "lang", "type": "choice", "text": "Language?", "storage": "user.language",
                                       "options": [{"title": "English", "value": "en"},
                                                   {"title": "Česky", "value": "cs"}]}]
    c = Chat(doc)
    assert c.say("Česky") == ["Ahoj ty!", "Váš e-mail?"]
    assert "user.language" not in c.data and c.state["language"] == "cs"
    doc["dialogs"][0]["steps"][:1] = [{"id": "s", "type": "set", "storage": "user.language", "value": "'de-AT'"},
                                      {"id": "m", "type": "message", "text": "{{ user.language }}"}]
    assert texts(Chat(doc).last)[0] == "de"
    doc["dialogs"][0]["steps"][0]["value"] = "'xx'"
    wrong = Chat(doc)
    assert texts(wrong.last)[0] == "en" and "not one of this bot's languages" in wrong.errors[0]


def test_a_single_language_bot_keeps_no_language_in_its_state():
    c = Chat({**bot(), "languages": ["en"]}, language="cs")
    assert "language" not in c.state and texts(c.last)[0] == "Hello there!"


def test_problems_count_missing_translations_per_language():
    found = botdoc.validate(bot(translations={"cs": {**CS, "gone/text": "x", "q/text": "Váš {{ mail }}?"},
                                              "fr": {"hi/text": "Salut"}}))
    by_place = {p.pointer: p for p in found}
    assert by_place["/translations/de"].message == "9 of 9 texts have no German translation; they are shown in English."
    assert by_place["/translations/de"].severity == "warning"
    assert "/translations/cs" not in by_place
    assert "no text 'gone/text'" in by_place["/translations/cs/gone~1text"].message
    assert "has {{ mail }}" in by_place["/translations/cs/q~1text"].message
    assert "not among the bot's languages" in by_place["/translations/fr"].message
    assert not [p for p in found if p.severity == "error"]


def test_a_translation_made_from_an_older_text_is_stale():
    doc = bot(translations={"cs": CS}, translationSources={"cs": {"hi/text": translations.source_hash("Hi!"),
                                                                  "q/text": translations.source_hash("Your e-mail?")}})
    stale = [p.pointer for p in botdoc.validate(doc) if "changed since" in p.message]
    assert stale == ["/translations/cs/hi~1text"]


@pytest.mark.parametrize("bad, where", [
    ({"languages": []}, "/languages"),
    ({"languages": ["en", "en"]}, "/languages"),
    ({"languages": ["English"]}, "/languages/0"),
    ({"translations": {"cs": {"no-slash": "x"}}}, "/translations/cs"),
    ({"translations": {"cs": {"hi/text": "{{ name"}}}, "/translations/cs/hi~1text"),
])
def test_bad_languages_and_translations_are_errors_at_their_place(bad, where):
    found = [p for p in botdoc.validate(bot(**bad)) if p.severity == "error"]
    assert found and found[0].pointer.startswith(where), found


def test_the_users_language_storage_comes_between_the_page_and_the_browser():
    doc = bot(translations={"cs": CS})
    assert Chat(doc, data={"language": "cs"}).state["language"] == "cs"  # a platform, the trigger API, last time
    assert Chat(doc, data={"language": "cs"}, language="de").state["language"] == "de"  # the page's locale wins
    from datetime import UTC, datetime

    from runtime import engine
    loaded = botdoc.load(botdoc.check(doc))
    started = engine.start(loaded, {"language": "cs"}, user={"id": "u"}, now=datetime(2026, 1, 1, tzinfo=UTC),
                           accepted=["de-DE", "en"])
    assert started.state["language"] == "cs" and started.data["language"] == "cs"
    fresh = engine.start(loaded, {}, user={"id": "u"}, now=datetime(2026, 1, 1, tzinfo=UTC), accepted=["de-DE"])
    assert fresh.state["language"] == "de" and fresh.data["language"] == "de"  # kept for exports, next time


def test_switching_keeps_the_choice_for_the_users_next_conversation():
    doc = bot(translations={"cs": CS})
    doc["dialogs"][0]["steps"][:0] = [{"id": "s", "type": "set", "storage": "user.language", "value": "'cs'"}]
    c = Chat(doc, language="en")
    assert c.data["language"] == "cs" and texts(c.last)[0] == "Ahoj ty!"


@pytest.mark.parametrize("kind, said, language, stored", [
    ("number", "1.234,5", "de", 1234.5), ("number", "1.000", "de", 1000), ("number", "1 234,5", "cs", 1234.5),
    ("number", "1,234.5", "en", 1234.5), ("number", "2,5", "en", 2.5), ("number", "1e400", "en", None),
    ("date", "31. 1. 2025", "cs", "2025-01-31"), ("date", "1/31/2025", "en", "2025-01-31"),
    ("date", "31.1.2025", "en", "2025-01-31"), ("date", "13/13/2025", "en", None),
])
def test_numbers_and_dates_are_read_as_the_visitor_writes_them(kind, said, language, stored):
    from runtime.steps import question
    assert question.parse({"validate": kind}, said, language=language) == stored


def test_an_email_or_sms_to_the_visitor_is_translated_one_to_the_team_is_not():
    doc = bot()
    doc["dialogs"][1]["steps"] += [
        {"id": "e1", "type": "email", "to": "{{ email }}", "subject": "Your order", "body": "Thanks!"},
        {"id": "e2", "type": "email", "to": "sales@example.com", "subject": "A lead", "body": "{{ email }}"},
        {"id": "s1", "type": "sms", "to": "{{ phone }}", "text": "On its way"}]
    ids = [text_id for text_id, _, _ in translations.texts(doc)]
    assert ids[-3:] == ["e1/subject", "e1/body", "s1/text"]
