"""Small bot documents for integration tests."""

from __future__ import annotations

from runtime.store.bots import import_bot


def bot(steps: list, *, integrations: dict, dialogs: list | None = None, bot_id: str = "calls") -> dict:
    """A bot document: a start dialog of `steps`, the given integrations, extra dialogs."""
    return {"format": 1, "id": bot_id, "name": "Calls", "start": "main", "integrations": integrations,
            "dialogs": [{"id": "main", "steps": steps}, *(dialogs or [])]}


def publish(doc: dict) -> None:
    import_bot(doc, publish=True)
