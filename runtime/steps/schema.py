"""Schema fragments the step types share, so each step module states only what is its own."""

from __future__ import annotations

from typing import Any

STEPS = {"$ref": "#/$defs/steps"}
NAME = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 64,
        "description": "A storage name: letters, digits and _, not starting with a digit."}
LANGUAGE = "user.language"
NAME_OR_LANGUAGE = {**NAME, "pattern": r"^([A-Za-z_][A-Za-z0-9_]*|user\.language)$",
                    "description": NAME["description"] + " Or user.language: the conversation goes on in that "
                                                          "language (one of the bot's, such as cs)."}
TEMPLATE = {"type": "string", "maxLength": 10_000, "description": "Text; may use {{ storage }}."}
EXPRESSION = {"type": "string", "minLength": 1, "maxLength": 2_000,
              "description": "An expression, for example: age >= 18 and country == \"CZ\"."}
URL = {"type": "string", "maxLength": 2_000, "pattern": r"^(https?://|\{\{)",
       "description": "An http(s) address; may use {{ storage }}."}
BUTTON = {
    "type": "object",
    "required": ["title"],
    "additionalProperties": False,
    "properties": {"title": TEMPLATE, "value": TEMPLATE, "url": URL},
}
BUTTONS = {"type": "array", "items": BUTTON, "maxItems": 20}


def step(type_: str, properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict:
    """The schema of one step type: the common `id`, `type` and `title` plus its own fields."""
    return {
        "type": "object",
        "required": ["id", "type", *required],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,64}$"},
            "type": {"const": type_},
            "title": {"type": "string", "maxLength": 200, "description": "A note for the designer."},
            **properties,
        },
    }
