"""What the bot knows, as the designer offers it to a person: the storages its steps set (a question's with
its question, a choice's with its options) and the conversation's own values (`user.*`, the page event,
the last text), for the condition builder's lists and the text fields' Insert menu; and a text's
`{{ storage }}` placeholders drawn as chips, so nobody reads or types Jinja to use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from designer import bp, tree
from runtime.steps._condition_rows import RESERVED

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


@dataclass
class Known:
    """One thing the bot knows: its name in expressions, its plain words, a choice's options (value, title)."""
    path: str
    words: str
    options: list[tuple[str, str]] = field(default_factory=list)


def known(doc: dict) -> list[Known]:
    """Storages in the order the steps set them, then the conversation's own values."""
    found: dict[str, Known] = {}
    for _, step in tree.all_steps(doc):
        name = step.get("storage")
        if not isinstance(name, str) or not name or name in found:
            continue
        question = " ".join(_PLACEHOLDER.sub(r"\1", str(step.get("text") or "")).split())[:60]
        words = f"{name} (the answer to “{question}”)" if question else name
        options = [(str(o.get("value", o.get("title", ""))), str(o.get("title", "")))
                   for o in step.get("options") or [] if isinstance(o, dict)] if step.get("type") == "choice" else []
        found[name] = Known(name, words, options)
    for name in tree.storages(doc):
        found.setdefault(name, Known(name, name))
    return [*found.values(), *(Known(path, f"{path} ({words})") for path, words in RESERVED if path not in found)]


@bp.app_template_filter("chips")
def chips(text: object) -> Markup:
    """The text with each `{{ name }}` drawn as a chip (the tree's summaries); everything else escaped."""
    source = str(text or "")
    out, last = [], 0
    for found in _PLACEHOLDER.finditer(source):
        out += [escape(source[last:found.start()]), Markup('<span class="chip">{}</span>').format(found.group(1))]
        last = found.end()
    out.append(escape(source[last:]))
    return Markup("").join(out)
