"""Save a conversation as a test: its transcript written out in the conversation test format.

What the user typed becomes `say`, a button they clicked `click`, a page event `event`; what the bot
said becomes `bot` (with the buttons it offered) and the events it sent `sent`. Arbor's own inputs
(triggers from the management API, timers) cannot be replayed by a test and are left out.
"""

from __future__ import annotations

import yaml

from runtime.turns.transcript import transcript

from .runner import buttons_of


def record(conversation_id: str, name: str, *, user: dict | None = None) -> str:
    """The YAML of a test that replays the conversation and expects what the bot answered then."""
    steps: list[dict] = []
    buttons: list[dict] = []
    language = None  # the language the bot spoke first in (a bot of several languages says it in `locale`)
    for activity in transcript(conversation_id):
        role = (activity.get("from") or {}).get("role")
        kind = activity.get("type")
        if role == "bot" and kind == "message":
            language = language or activity.get("locale")
            step: dict = {"bot": activity.get("text") or ""}
            offered = [a.get("title") for a in (activity.get("suggestedActions") or {}).get("actions", [])]
            if offered:
                step["buttons"] = offered
            steps.append(step)
            buttons = buttons_of(activity) or buttons
        elif role == "bot" and kind == "event":
            steps.append({"sent": activity.get("name"), **_value(activity)})
        elif role == "user" and kind == "message":
            steps.append(_user_message(activity, buttons))
        elif role == "user" and kind == "event":
            steps.append({"event": activity.get("name"), **_value(activity)})
    test: dict = {"name": name}
    if user:
        test["user"] = user
    if language:
        test["language"] = language
    test["steps"] = steps
    header = f"# Recorded from conversation {conversation_id}; edit the expectations as the bot should answer.\n"
    return header + yaml.safe_dump(test, sort_keys=False, allow_unicode=True, width=120)


def _user_message(activity: dict, buttons: list[dict]) -> dict:
    """A typed message, or the click of an offered button it came from (by its title, or its value)."""
    text, value = activity.get("text"), activity.get("value")
    for button in buttons:
        if button.get("type") == "openUrl":
            continue
        if (text is not None and text == button.get("title")) or (text is None and value == button.get("value")):
            return {"click": button.get("title")}
    return {"say": text if text is not None else str(value)}


def _value(activity: dict) -> dict:
    return {"value": activity["value"]} if activity.get("value") is not None else {}
