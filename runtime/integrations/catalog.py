"""The catalog: the integration templates found by scanning folders, each checked before it is offered.

A template is a folder `<slug>/` holding `template.json` (checked against `template.schema.json`, its
`config`, `input` and `output` checked as JSON Schemas) and, where it needs code, `handler.py` with
`run(input, config, secrets, http) -> output`. A folder that fails any check is left out and the log says
why; the rest of the catalog still loads. The catalog is immutable once built and lives in
`app.extensions["arbor.integrations"]`; folders of saved templates are rescanned when they change.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema
import jmespath
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from runtime import expressions

log = logging.getLogger(__name__)

BUILT_IN = Path(__file__).parent / "templates"
LEVELS = ("action", "service", "protocol")
META_SCHEMA = json.loads((Path(__file__).parent / "template.schema.json").read_text())
_META = Draft202012Validator(META_SCHEMA)


@dataclass(frozen=True)
class Template:
    """One checked template, with its schemas compiled."""

    slug: str
    spec: dict
    folder: Path
    handler: Callable[..., Any] | None = None
    validators: dict[str, Draft202012Validator] = field(default_factory=dict)
    fast: dict[str, Callable[[Any], Any]] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return self.spec["level"]

    @property
    def title(self) -> str:
        return self.spec["title"]

    @property
    def description(self) -> str:
        return self.spec["description"]

    @property
    def auth(self) -> list[str]:
        return self.spec["auth"]

    def problems(self, part: str, value: Any) -> list[str]:
        """What is wrong with `value` as the template's `config`, `input` or `output`, in plain words.

        Every call checks its input and output, so a compiled fastjsonschema validator answers "valid?"
        first where it can (it is at least as strict); jsonschema words the problems when there are any.
        """
        fast = self.fast.get(part)
        if fast is not None:
            try:
                fast(value)
                return []
            except (fastjsonschema.JsonSchemaException, KeyError, TypeError):
                pass
        return [_say(error) for error in self.validators[part].iter_errors(value)][:5]

    def summary(self) -> dict:
        """What the designer's catalog browser shows of a template."""
        keys = ("slug", "title", "level", "description", "version", "auth", "config", "input", "output", "secrets")
        return {key: self.spec[key] for key in keys if key in self.spec}


def _say(error) -> str:
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where or 'the value'}: {error.message}"


class Rejected(ValueError):
    """A template folder that cannot be offered; the message says why."""


def load_template(folder: Path) -> Template:
    """Check one template folder and load it; Rejected says what to change."""
    try:
        spec = json.loads((folder / "template.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Rejected("there is no template.json") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise Rejected(f"template.json is not valid JSON: {e}") from None
    errors = sorted(_META.iter_errors(spec), key=lambda e: list(e.absolute_path))
    if errors:
        raise Rejected(f"template.json does not fit the template schema: {_say(errors[0])}")
    if spec["slug"] != folder.name:
        raise Rejected(f"its slug '{spec['slug']}' is not the folder's name '{folder.name}'")
    validators = {}
    for part in ("config", "input", "output"):
        try:
            Draft202012Validator.check_schema(spec[part])
        except SchemaError as e:
            raise Rejected(f"'{part}' is not a valid JSON Schema: {e.message}") from None
        validators[part] = Draft202012Validator(spec[part])
    handler = _handler(folder) if (folder / "handler.py").exists() else None
    if handler is None:
        _check_declarative(spec)
    fast = {part: compiled for part in validators if (compiled := _fast(spec[part])) is not None}
    return Template(spec["slug"], spec, folder, handler, validators, fast)


# Keywords of draft 2020-12 that fastjsonschema (drafts 4-7) would skip: schemas using them get jsonschema only.
_NEWER = frozenset({"prefixItems", "dependentRequired", "dependentSchemas", "unevaluatedProperties",
                    "unevaluatedItems", "$dynamicRef", "$dynamicAnchor", "minContains", "maxContains"})


def _fast(schema: dict) -> Callable[[Any], Any] | None:
    if _NEWER & set(_keys(schema)):
        return None
    try:
        return fastjsonschema.compile({**schema, "$schema": "http://json-schema.org/draft-07/schema#"},
                                      use_default=False)
    except Exception:  # anything it cannot compile is checked by jsonschema alone
        return None


def _keys(value: Any):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def _handler(folder: Path) -> Callable[..., Any]:
    name = f"arbor_integration_templates.{folder.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, folder / "handler.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as e:  # a handler whose library is not installed skips itself
        raise Rejected(f"handler.py needs {e.name or e}, which is not installed") from None
    except Exception as e:
        raise Rejected(f"handler.py failed to load: {type(e).__name__}: {e}") from None
    if not callable(getattr(module, "run", None)):
        raise Rejected("handler.py has no function run(input, config, secrets, http)")
    return module.run


def _check_declarative(spec: dict) -> None:
    if "request" not in spec:
        raise Rejected("it has neither a handler.py nor a declarative 'request'")
    request = spec["request"]
    texts = [request["method"], request["url"], *request.get("headers", {}).values(),
             *request.get("query", {}).values(), *request.get("form", {}).values()]
    for text in texts:
        _, error = expressions.template_reads(text)
        if error:
            raise Rejected(f"the request template {text[:60]!r} does not compile: {error}")
    mapping = spec.get("mapping", {})
    try:
        if "jmespath" in mapping:
            jmespath.compile(mapping["jmespath"])
    except jmespath.exceptions.JMESPathError as e:
        raise Rejected(f"the JMESPath mapping does not compile: {e}") from None
    if "expression" in mapping:
        _, error = expressions.expression_reads(mapping["expression"])
        if error:
            raise Rejected(f"the mapping expression does not compile: {error}")


class Catalog:
    """The templates on offer, by slug; `enabled`/`disabled` come from the app's configuration."""

    def __init__(self, templates: Iterable[Template], rejected: dict[str, str] | None = None):
        self.templates = {t.slug: t for t in templates}
        self.rejected = dict(rejected or {})

    def get(self, slug: str) -> Template | None:
        return self.templates.get(slug)

    def grouped(self, search: str = "") -> dict[str, list[dict]]:
        """The designer's catalog browser: templates by level (action, service, protocol), filtered by words."""
        words = search.casefold().split()
        groups: dict[str, list[dict]] = {level: [] for level in LEVELS}
        for template in sorted(self.templates.values(), key=lambda t: t.title.casefold()):
            text = f"{template.slug} {template.title} {template.description}".casefold()
            if all(word in text for word in words):
                groups[template.level].append(template.summary())
        return groups


def scan(folders: Iterable[Path], *, enabled: Iterable[str] | None = None,
         disabled: Iterable[str] = ()) -> Catalog:
    """Build a catalog from template folders (later folders win a slug); rejected folders are logged."""
    enabled = set(enabled) if enabled else None
    disabled = set(disabled)
    found, rejected = {}, {}
    for root in folders:
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            if folder.name in disabled or (enabled is not None and folder.name not in enabled):
                continue
            try:
                found[folder.name] = load_template(folder)
            except Rejected as e:
                rejected[str(folder)] = str(e)
                log.warning("Integration template %s left out of the catalog: %s", folder, e)
    return Catalog(found.values(), rejected)
