"""The conversation test format: a small YAML file of what the user does and what the bot should answer.

```yaml
name: Track an order              # optional; the file's name otherwise
user: {name: Eva}                 # optional: user data the page passes when the chat opens
language: cs                      # optional: the visitor's language (as a widget's locale); the bot's default otherwise
steps:
  - bot: Hello, Eva! I am the support bot.      # the bot's next message, exactly
  - bot: {contains: How can I help?}            # ... or containing a text, or matching {regex: ...}
    buttons: [Track an order, Close the chat]   # the buttons it offers, in order
  - click: Track an order                       # the user clicks a button the bot offered
  - say: ab1234                                 # the user types
  - sent: show-order                            # the bot sent this event to the page...
    value: {id: AB1234}                         # ... with this value (optional)
  - event: checkout-done                        # the page sends an event to the bot
    value: {total: 12}
  - storage: {orderId: ab1234}                  # user data holds these values
  - at: sp-c2                                   # the bot waits at this step
```

Parsing keeps each step's line, so a run names the line of the first difference; a file that is not
valid YAML, or not of this shape, raises `ScriptError` with its line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

ACTIONS = ("say", "click", "event")  # what the user (or the page) does
CHECKS = ("bot", "sent", "storage", "at")  # what the bot should have done
EXTRA = {"bot": {"buttons"}, "sent": {"value"}, "event": {"value"}}
MAX_STEPS = 1_000


class ScriptError(ValueError):
    """A test file that cannot be run: what is wrong and where (1-based line and column)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.message, self.line, self.column = message, line, column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(where + message)


@dataclass(frozen=True)
class Step:
    kind: str  # one of ACTIONS or CHECKS
    value: Any
    extra: dict
    line: int


@dataclass
class Script:
    name: str
    steps: list[Step]
    user: dict = field(default_factory=dict)
    language: str | None = None

    def step_ids(self) -> list[tuple[str, int]]:
        """The bot's step ids the script names (`at:`), with their lines."""
        return [(str(s.value), s.line) for s in self.steps if s.kind == "at"]


class _Loader(yaml.SafeLoader):
    """A safe loader whose mappings remember the line and column they start at, and which reads only
    true/false as booleans (YAML 1.2): a user who says "yes", "no", "on" or "off" said that text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    mapping = _Marked(loader.construct_mapping(node, deep=True))
    mapping.line, mapping.column = node.start_mark.line + 1, node.start_mark.column + 1
    return mapping


class _Marked(dict):
    line = column = 0


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse(text: str, *, name: str = "test") -> Script:
    """A script from YAML text, or ScriptError saying what to change and where."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        message = " ".join(str(part) for part in (e.context, e.problem) if part) or "not valid YAML"
        raise ScriptError(f"Not valid YAML: {message}.", mark.line + 1 if mark else None,
                          mark.column + 1 if mark else None) from None
    except yaml.YAMLError as e:
        raise ScriptError(f"Not valid YAML: {e}.") from None
    if not isinstance(data, dict):
        raise ScriptError("A test is a mapping with 'steps:' (a list), and optionally 'name:', 'user:' and "
                          "'language:'.", 1, 1)
    unknown = set(data) - {"name", "user", "language", "steps"}
    if unknown:
        raise ScriptError(f"Unknown key '{sorted(map(str, unknown))[0]}'; a test has 'name', 'user', 'language' and "
                          "'steps'.", data.line, data.column)
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ScriptError("'steps:' must be a list of what the user does and what the bot answers.",
                          data.line, data.column)
    if len(steps) > MAX_STEPS:
        raise ScriptError(f"A test may have at most {MAX_STEPS} steps; split it.", data.line, data.column)
    if not isinstance(data.get("user", {}), dict):
        raise ScriptError("'user:' must be a mapping of storages, like {name: Eva}.", data.line, data.column)
    language = data.get("language")
    if language is not None and not (isinstance(language, str) and re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*",
                                                                                  language)):
        raise ScriptError("'language:' must be a language tag such as cs or de-AT.", data.line, data.column)
    script_name = str(data.get("name") or name)
    return Script(script_name, [_step(item, data) for item in steps], dict(data.get("user") or {}), language)


def _step(item: Any, parent: _Marked) -> Step:
    if not isinstance(item, _Marked):
        raise ScriptError(f"Each step is a mapping such as 'say: hello' or 'bot: Hi!', not {item!r}.",
                          parent.line, parent.column)
    kinds = [key for key in item if key in ACTIONS + CHECKS]
    if len(kinds) != 1:
        raise ScriptError(f"A step has exactly one of {', '.join(ACTIONS + CHECKS)}; this one has "
                          f"{' and '.join(map(str, kinds)) or 'none'}.", item.line, item.column)
    kind = kinds[0]
    extra = {key: value for key, value in item.items() if key != kind}
    unknown = set(extra) - EXTRA.get(kind, set())
    if unknown:
        allowed = ", ".join(sorted(EXTRA.get(kind, ()))) or "nothing"
        raise ScriptError(f"'{sorted(map(str, unknown))[0]}' does not go with '{kind}' (allowed beside it: "
                          f"{allowed}).", item.line, item.column)
    value = item[kind]
    _check_value(kind, value, extra, item)
    return Step(kind, value, extra, item.line)


def _check_value(kind: str, value: Any, extra: dict, item: _Marked) -> None:
    def bad(message: str):
        raise ScriptError(message, item.line, item.column)

    if kind in ("say", "click", "event", "sent", "at") and not isinstance(value, str | int | float):
        bad(f"'{kind}:' takes a text.")
    if kind == "bot":
        if isinstance(value, dict):
            if len(value) != 1 or next(iter(value)) not in ("text", "contains", "regex"):
                bad("'bot:' takes a text, or one of {contains: ...}, {regex: ...}, {text: ...}.")
            if "regex" in value:
                try:
                    re.compile(str(value["regex"]))
                except re.error as e:
                    bad(f"The regex is not valid: {e}.")
        elif not isinstance(value, str | int | float):
            bad("'bot:' takes a text, or one of {contains: ...}, {regex: ...}, {text: ...}.")
        if "buttons" in extra and not isinstance(extra["buttons"], list):
            bad("'buttons:' is a list of button titles, like [Yes, No].")
    if kind == "storage" and not isinstance(value, dict):
        bad("'storage:' is a mapping of storage names to values, like {email: eva@example.com}.")
