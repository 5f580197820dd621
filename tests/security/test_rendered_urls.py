"""Hole 11 of issue 15: a URL filled from a storage (a button's `url`, a card's or message's `image`, a
markdown link) is checked when the bot sends it: a person may be sent to http, https, mailto: and tel:,
a client may load http and https only; any other URL (`javascript:`, `data:`, ...) is dropped before it
reaches a Direct Line client, and the engine logs why against the step."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from runtime import botdoc, engine
from runtime.channels.directline.secret import reveal
from runtime.steps.base import Input
from runtime.store.bots import import_bot

DL = "/v3/directline"
DOC = {
    "format": 1, "id": "links", "name": "Links", "locale": "en", "start": "main",
    "dialogs": [{"id": "main", "title": "Main", "steps": [
        {"id": "ask", "type": "question", "text": "Your site?", "storage": "link"},
        {"id": "show", "type": "message", "text": "See [your site]({{ link }}) or <{{ link }}>.",
         "image": "{{ link }}", "buttons": [{"title": "Open", "url": "{{ link }}"}, {"title": "Fine", "value": "ok"}]},
        {"id": "cards", "type": "carousel", "cards": [
            {"title": "Yours", "image": "{{ link }}",
             "buttons": [{"title": "Visit", "url": "{{ link }}"}, {"title": "Pick", "value": "yours"}]}]},
    ]}],
}
BAD = ["javascript:alert(document.cookie)", "JaVaScRiPt:alert(1)", " java\tscript:alert(1)",
       "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)"]


def urls_in(activities: list[dict]) -> list[str]:
    """Every URL a client would open or load, wherever Bot Framework puts it."""
    found = []
    for activity in activities:
        for action in (activity.get("suggestedActions") or {}).get("actions", []):
            if action["type"] == "openUrl":
                found.append(action["value"])
        for attachment in activity.get("attachments", []):
            found += [attachment["contentUrl"]] if "contentUrl" in attachment else []
            content = attachment.get("content", {})
            found += [image["url"] for image in content.get("images", [])]
            found += [b["value"] for b in content.get("buttons", []) if b["type"] == "openUrl"]
    return found


def run_engine(answer: str) -> engine.TurnResult:
    bot = botdoc.load(botdoc.check(DOC))
    user, now = {"id": "u1", "channel": "test"}, datetime(2026, 11, 20, 12, tzinfo=UTC)
    started = engine.start(bot, {}, user=user, now=now)
    return engine.turn(bot, started.state, started.data, Input.message(answer), user=user, now=now)


@pytest.mark.parametrize("answer", BAD)
def test_the_engine_drops_a_url_it_may_not_send_and_logs_why(answer):
    result = run_engine(answer)
    assert urls_in(result.activities) == []
    sent = json.dumps(result.activities).lower()
    assert "script:" not in sent.replace("\\t", "") and "data:text" not in sent
    message, carousel = result.activities
    assert message["text"] == "See your site or ."  # the words of the link stay, its target goes
    assert message["suggestedActions"]["actions"] == [{"type": "imBack", "title": "Fine", "value": "ok"}]
    assert carousel["attachments"][0]["content"] == {
        "title": "Yours", "buttons": [{"type": "postBack", "title": "Pick", "value": "yours"}]}
    errors = [(log["step"], log["message"]) for log in result.logs if log["kind"] == "error"]
    assert {step for step, _ in errors} == {"show", "cards"} and len(errors) == 6
    assert all(message.startswith("Dropped ") and "not" in message for _, message in errors)


def test_web_links_pass_and_mailto_opens_but_is_never_loaded():
    assert urls_in(run_engine("https://example.com/a?b=1").activities) == ["https://example.com/a?b=1"] * 4
    mail = run_engine("mailto:sales@example.com")
    assert urls_in(mail.activities) == ["mailto:sales@example.com"] * 2  # the buttons; not as an image
    assert "[your site](mailto:sales@example.com)" in mail.activities[0]["text"]
    assert [log["message"] for log in mail.logs if log["kind"] == "error"] == [
        "Dropped the image 'mailto:sales@example.com': its scheme 'mailto:' is not allowed here "
        "(only http://, https://).",
        "Dropped the card image 'mailto:sales@example.com': its scheme 'mailto:' is not allowed here "
        "(only http://, https://)."]


def test_a_direct_line_client_never_receives_a_javascript_url(app, client):
    with app.app_context():
        import_bot(DOC, publish=True)
        secret = reveal("links")[0]
    started = client.post(f"{DL}/conversations", headers={"Authorization": f"Bearer {secret}"},
                          json={"user": {"id": "dl_mallory"}})
    assert started.status_code in (200, 201), started.get_json()
    conversation, token = started.get_json()["conversationId"], started.get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{DL}/conversations/{conversation}/activities"
    posted = client.post(url, headers=headers, json={"type": "message", "text": BAD[0],
                                                     "from": {"id": "dl_mallory", "role": "user"}})
    assert posted.status_code == 200, posted.get_json()
    activities = client.get(url, headers=headers).get_json()["activities"]
    bot = [a for a in activities if a["from"]["role"] == "bot"]
    assert [a.get("text") for a in bot] == ["Your site?", "See your site or .", None]
    assert urls_in(bot) == [] and "javascript:" not in json.dumps(bot)
