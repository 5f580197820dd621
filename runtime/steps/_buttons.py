"""Buttons as Bot Framework card actions, shared by message, choice and carousel steps."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def actions(buttons: Iterable[dict], render: Callable[[str], str], *, kind: str = "imBack") -> list[dict]:
    """Render buttons: a `url` button opens the link, any other sends its value (or title) back."""
    result = []
    for button in buttons:
        title = render(button["title"])
        if button.get("url"):
            result.append({"type": "openUrl", "title": title, "value": render(button["url"])})
        else:
            value = render(button["value"]) if button.get("value") is not None else title
            result.append({"type": kind, "title": title, "value": value})
    return result


def suggested(actions_: list[dict], user_id: str | None) -> dict:
    """Suggested actions addressed to the user, as Direct Line clients expect them."""
    return {"actions": actions_, "to": [user_id] if user_id else []}


def button_texts(buttons: Iterable[dict], prefix: str):
    """The titles of a button list, with their JSON Pointers: what a visitor reads (values are answers)."""
    for i, button in enumerate(buttons):
        yield f"{prefix}/{i}/title", button.get("title")


def button_templates(buttons: Iterable[dict], prefix: str):
    """The template fields of a button list, with their JSON Pointers, for validation."""
    for i, button in enumerate(buttons):
        for key in ("title", "value", "url"):
            if isinstance(button.get(key), str):
                yield f"{prefix}/{i}/{key}", button[key]
