"""The loaded, indexed form of a valid document: what the engine reads on every turn."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.steps import branches

from .translations import languages, localized


@dataclass(frozen=True)
class Bot:
    doc: dict
    dialogs: dict[str, dict]
    steps: dict[str, dict]
    dialog_of: dict[str, str]
    after: dict[str, str | None]
    triggers: dict[str, dict]
    languages: tuple[str, ...] = ("en",)
    translated: dict[str, dict[str, dict]] | None = None  # language -> steps by id, texts in that language

    @property
    def id(self) -> str:
        return self.doc["id"]

    @property
    def start(self) -> str:
        return self.doc["start"]

    @property
    def fallback(self) -> str | None:
        return self.doc.get("fallback")

    def steps_in(self, language: str) -> dict[str, dict]:
        """The steps as a visitor in `language` sees them (the default language's for one not translated)."""
        return (self.translated or {}).get(language, self.steps)

    def first(self, dialog_id: str) -> str | None:
        """The first step of a dialog, or None when it has none."""
        steps = self.dialogs[dialog_id]["steps"]
        return steps[0]["id"] if steps else None


def index(doc: dict) -> Bot:
    """Index a valid document: each step by id, its dialog, and the step that follows it.

    "Follows" walks out of branches: when a child list ends, execution goes on after the
    branching step, so `after` of a branch's last step is `after` of its owner.
    """
    steps: dict[str, dict] = {}
    dialog_of: dict[str, str] = {}
    after: dict[str, str | None] = {}
    todo = [(dialog["steps"], None, dialog["id"]) for dialog in doc["dialogs"]]
    while todo:
        items, then, dialog_id = todo.pop()
        for i, step in enumerate(items):
            steps[step["id"]] = step
            dialog_of[step["id"]] = dialog_id
            after[step["id"]] = items[i + 1]["id"] if i + 1 < len(items) else then
            todo.extend((child, after[step["id"]], dialog_id) for _, child in branches(step))
    return Bot(
        doc=doc,
        dialogs={d["id"]: d for d in doc["dialogs"]},
        steps=steps,
        dialog_of=dialog_of,
        after=after,
        triggers={t["event"]: t for t in doc.get("triggers", [])},
        languages=tuple(languages(doc)),
        translated={lang: localized(steps, table) for lang, table in (doc.get("translations") or {}).items()
                    if lang in languages(doc)[1:] and table},
    )
