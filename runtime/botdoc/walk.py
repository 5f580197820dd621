"""Visit every step of a document with its place, without recursion (branches may nest deep)."""

from __future__ import annotations

from collections.abc import Iterator

from runtime.steps import BRANCHES


def steps(doc: dict) -> Iterator[tuple[str, dict, int]]:
    """(JSON Pointer, step, depth) for every step in document order; depth counts enclosing branches."""
    todo: list[tuple[str, dict, int]] = []
    for d in range(len(doc.get("dialogs", [])) - 1, -1, -1):
        items = doc["dialogs"][d].get("steps", [])
        todo.extend((f"/dialogs/{d}/steps/{i}", items[i], 0) for i in range(len(items) - 1, -1, -1))
    while todo:
        where, step, depth = todo.pop()
        yield where, step, depth
        fn = BRANCHES.get(step.get("type"))
        if fn:
            for suffix, child in reversed(list(fn(step))):
                todo.extend((f"{where}{suffix}/{i}", child[i], depth + 1) for i in range(len(child) - 1, -1, -1))
