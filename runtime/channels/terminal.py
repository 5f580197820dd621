"""The terminal as a channel: bot activities as plain text, typed lines as inputs.

Pure functions with no I/O, so `flask bots chat` and anything else that shows a conversation as text
(a transcript dump, a test) print activities the same way. Buttons that send something are numbered
in the order they are shown; a typed number picks one. Links are shown, not numbered: a terminal
cannot open them for the user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runtime.steps.base import Input

SENDING = ("imBack", "postBack", "messageBack")
HERO_CARD = "application/vnd.microsoft.card.hero"
HELP = ("Type a message, or the number of a button. Commands: /event NAME [JSON] sends a page event, "
        "/restart starts a new conversation, /quit ends.")


@dataclass(frozen=True)
class Command:
    """A line that is an instruction to the terminal rather than something said to the bot."""

    name: str  # "restart", "quit", "help" or "mistake"
    message: str = ""


def choices(activity: dict) -> list[dict]:
    """The buttons of an activity that send something back, in the order `render` numbers them."""
    found = []
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == HERO_CARD:
            found += [b for b in attachment.get("content", {}).get("buttons", []) if b.get("type") in SENDING]
    actions = (activity.get("suggestedActions") or {}).get("actions", [])
    return found + [a for a in actions if a.get("type") in SENDING]


def render(activity: dict) -> str:
    """One bot activity as terminal text: message text, images, cards and numbered buttons, or an event."""
    if activity.get("type") == "event":
        value = activity.get("value")
        shown = "" if value is None else " " + json.dumps(value, ensure_ascii=False)
        return f"(event {activity.get('name')}{shown})"
    if activity.get("type") != "message":
        return ""
    lines = [activity["text"]] if activity.get("text") else []
    number = 0
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == HERO_CARD:
            card = attachment.get("content", {})
            lines.append(f"  * {card.get('title', '')}")
            lines += [f"    {card[key]}" for key in ("subtitle", "text") if card.get(key)]
            lines += [f"    (image {image.get('url')})" for image in card.get("images", [])]
            for button in card.get("buttons", []):
                number = _button(button, number, lines, "    ")
        elif attachment.get("contentType", "").startswith("image/"):
            lines.append(f"(image {attachment.get('contentUrl')})")
    for action in (activity.get("suggestedActions") or {}).get("actions", []):
        number = _button(action, number, lines, "  ")
    return "\n".join(lines)


def _button(action: dict, number: int, lines: list[str], indent: str) -> int:
    """Append one button's line; returns the last number used."""
    if action.get("type") in SENDING:
        number += 1
        lines.append(f"{indent}[{number}] {action.get('title', '')}")
    else:
        lines.append(f"{indent}{action.get('title', '')}: {action.get('value', '')}")
    return number


def read(line: str, buttons: list[dict]) -> Input | Command:
    """What a typed line means: a number picks one of `buttons`, `/...` is a command, the rest is said."""
    text = line.strip()
    if text.isdigit() and 1 <= int(text) <= len(buttons):
        button = buttons[int(text) - 1]
        if button.get("type") == "imBack":
            return Input.message(text=button.get("value"))
        return Input.message(value=button.get("value"))
    if not text.startswith("/"):
        return Input.message(text=line)
    name, _, rest = text[1:].partition(" ")
    if name in ("restart", "quit", "help"):
        return Command(name)
    if name != "event":
        return Command("mistake", f"Unknown command /{name}. {HELP}")
    event, _, value = rest.strip().partition(" ")
    if not event:
        return Command("mistake", "Usage: /event NAME [JSON value]")
    try:
        parsed: Any = json.loads(value) if value.strip() else None
    except json.JSONDecodeError as e:
        return Command("mistake", f"The value of /event {event} is not JSON: {e.msg} (column {e.colno}).")
    return Input.event(event, parsed)
