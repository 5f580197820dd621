"""The input schema of an integration template, read from its folder (DESIGN §7:
`runtime/integrations/templates/<id>/template.json` holds the JSON Schema of its `input`).

None when the template is not installed: the step then opens as a placeholder that keeps its params.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import runtime

TEMPLATES = Path(runtime.__file__).parent / "integrations" / "templates"
SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def template_of(doc: dict, step: dict) -> str | None:
    """The template id the step's integration uses, if the bot configures one by that name."""
    integration = (doc.get("integrations") or {}).get(step.get("use"))
    return integration.get("template") if isinstance(integration, dict) else None


def input_schema(template_id: str | None) -> dict | None:
    if not template_id or not SLUG.match(template_id):
        return None
    try:
        schema = json.loads((TEMPLATES / template_id / "template.json").read_text()).get("input")
    except (OSError, ValueError, AttributeError):
        return None
    return schema if isinstance(schema, dict) and schema.get("type") == "object" else None
