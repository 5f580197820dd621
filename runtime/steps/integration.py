"""integration: call an outside system through a template from the catalog."""

from __future__ import annotations

from . import schema

TYPE = "integration"
TITLE = "Call an outside system"
DESCRIPTION = "Call a CRM, a ticket system or any REST API through a configured integration."
AVAILABLE = False
ON_ERROR = {
    "type": "object", "required": ["action"], "additionalProperties": False,
    "properties": {
        "action": {"enum": ["fail", "dialog", "flag"]},
        "dialog": {"type": "string", "minLength": 1},
        "storage": schema.NAME,
        "message": schema.TEMPLATE,
    },
}
SCHEMA = schema.step(TYPE, {
    "use": {"type": "string", "minLength": 1, "maxLength": 64,
            "description": "The name of an integration configured for this bot."},
    "params": {"type": "object", "additionalProperties": True,
               "description": "The template's input; texts may use {{ storage }}."},
    "output": schema.NAME,
    "timing": {"enum": ["sync", "async", "background"], "default": "sync"},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 30, "default": 3},
    "onError": ON_ERROR,
}, required=("use",))


def writes(step: dict):
    if step.get("output"):
        yield step["output"]
    if step.get("onError", {}).get("storage"):
        yield step["onError"]["storage"]
