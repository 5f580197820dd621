"""faq: answer a free-text question from a list of questions and answers."""

from __future__ import annotations

from . import schema

TYPE = "faq"
TITLE = "Answer questions (FAQ)"
DESCRIPTION = "Answer what the user types from a list of questions, matched even when worded differently."
AVAILABLE = False
SCHEMA = schema.step(TYPE, {
    "text": schema.TEMPLATE,
    "questions": {"type": "array", "minItems": 1, "maxItems": 5_000, "items": {
        "type": "object", "required": ["question", "answer"], "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "maxLength": 64},
            "question": {"type": "string", "minLength": 1, "maxLength": 500},
            "phrasings": {"type": "array", "items": {"type": "string", "maxLength": 500}, "maxItems": 100},
            "answer": schema.TEMPLATE,
        },
    }},
    "threshold": {"type": "number", "minimum": 0, "maximum": 100, "default": 75},
    "storage": schema.NAME,
}, required=("questions",))


def writes(step: dict):
    if step.get("storage"):
        yield step["storage"]
