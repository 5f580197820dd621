"""The integration template a step uses and its input schema, from the app's one catalog
(`runtime.integrations`, which scans the template folders and the saved templates).

None when the template is not installed: the step then opens as a placeholder that keeps its params.
"""

from __future__ import annotations

from runtime import expressions
from runtime.integrations import get

BUILT_IN = {"user", "event", "input", "now"}


def template_of(doc: dict, step: dict) -> str | None:
    """The template id the step's integration uses, if the bot configures one by that name."""
    integration = (doc.get("integrations") or {}).get(step.get("use"))
    return integration.get("template") if isinstance(integration, dict) else None


def input_schema(template_id: str | None) -> dict | None:
    template = get().catalog.get(template_id) if template_id else None
    schema = template.spec.get("input") if template is not None else None
    return schema if isinstance(schema, dict) and schema.get("type") == "object" else None


def sample_names(params: dict | None) -> list[str]:
    """The storages a step's params read: "Try this call" asks a sample value for each."""
    names = set()
    for text in expressions.strings(params or {}):
        if "{" in text:
            try:
                names |= expressions.template_names(text)
            except expressions.ExpressionError:
                continue
    return sorted(names - BUILT_IN)
