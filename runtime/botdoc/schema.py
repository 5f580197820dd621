"""The bot document's JSON Schema (2020-12), assembled from the step modules."""

from __future__ import annotations

from functools import cache

from runtime.steps import STEP_TYPES

from .migrations import CURRENT_FORMAT
from .translations import LANGUAGE_PATTERN, TEXT_ID_PATTERN

MAX_STEPS_IN_LIST = 1_000
ID = {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,64}$",
      "description": "Letters, digits and _ . : -, at most 64."}

LANGUAGE = {"type": "string", "pattern": LANGUAGE_PATTERN, "maxLength": 35,
            "description": "A language tag such as en, cs or pt-BR."}
TEXT_ID = {"type": "string", "pattern": TEXT_ID_PATTERN, "description": "A step id, / and the field's path."}

AUTH = {  # how an integration's calls authenticate (runtime/integrations/auth.py says what each sends)
    "type": "object", "required": ["type"], "additionalProperties": False,
    "properties": {
        "type": {"enum": ["none", "basic", "bearer", "user-token", "api-key", "oauth2-client-credentials",
                          "oauth2-authorization-code"]},
        "username": {"type": "string", "maxLength": 200},
        "storage": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
                    "description": "user-token: the storage holding the user's token."},
        "in": {"enum": ["header", "query"]},
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,100}$",
                 "description": "api-key: the header or query parameter name."},
        "authorizeUrl": {"type": "string", "pattern": "^https?://", "maxLength": 2000,
                         "description": "oauth2-authorization-code: where the user signs in and consents."},
        "tokenUrl": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
        "clientId": {"type": "string", "maxLength": 500},
        "scope": {"type": "string", "maxLength": 2000},
        "clientAuth": {"enum": ["client_secret_basic", "client_secret_post"]},
    },
}


@cache
def bot_schema() -> dict:
    """The whole schema; cached, since the step modules are fixed for the life of the process."""
    defs = {f"step-{name}": module.SCHEMA for name, module in STEP_TYPES.items()}
    defs["steps"] = {"type": "array", "maxItems": MAX_STEPS_IN_LIST, "items": {"$ref": "#/$defs/step"}}
    defs["step"] = {
        "type": "object",
        "required": ["id", "type"],
        "properties": {"type": {"enum": list(STEP_TYPES)}},
        "allOf": [{"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                   "then": {"$ref": f"#/$defs/step-{name}"}} for name in STEP_TYPES],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://arbor.dev/schemas/bot-{CURRENT_FORMAT}.json",
        "title": "Arbor bot document",
        "type": "object",
        "required": ["format", "id", "name", "start", "dialogs"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": CURRENT_FORMAT},
            "id": {**ID, "pattern": r"^[a-z0-9][a-z0-9-]{0,63}$",
                   "description": "Lower-case letters, digits and -, at most 64; used in addresses."},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "languages": {"type": "array", "minItems": 1, "maxItems": 20, "uniqueItems": True,
                          "items": LANGUAGE, "default": ["en"],
                          "description": "The languages the bot speaks; the first is the default, in which "
                                         "the steps are written."},
            "translations": {"type": "object", "maxProperties": 20, "propertyNames": LANGUAGE,
                             "additionalProperties": {"type": "object", "propertyNames": TEXT_ID,
                                                      "additionalProperties": {"type": "string",
                                                                               "maxLength": 10_000}},
                             "description": "Per language, a text id (step id + field) -> the text."},
            "translationSources": {"type": "object", "propertyNames": LANGUAGE, "additionalProperties": {
                "type": "object", "propertyNames": TEXT_ID,
                "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]{8}$"}},
                "description": "Per language and text id, a hash of the default text it was translated "
                               "from, to tell a stale translation."},
            "start": {"type": "string", "minLength": 1},
            "fallback": {"type": "string", "minLength": 1},
            "triggers": {"type": "array", "maxItems": 200, "items": {
                "type": "object", "required": ["event", "dialog"], "additionalProperties": False,
                "properties": {
                    "event": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,100}$"},
                    "dialog": {"type": "string", "minLength": 1},
                    "storage": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
                                "description": "Keep the event's value in this storage."},
                    "mode": {"enum": ["jump", "call"], "default": "jump"},
                },
            }},
            "integrations": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["template"], "additionalProperties": False,
                "properties": {
                    "template": {"type": "string", "minLength": 1},
                    "config": {"type": "object"},
                    "secrets": {"type": "object", "additionalProperties": {"type": "string"},
                                "description": "The template's secret names -> the bot's secret names."},
                    "auth": AUTH,
                },
            }},
            "dialogs": {"type": "array", "minItems": 1, "maxItems": 5_000, "items": {
                "type": "object", "required": ["id", "steps"], "additionalProperties": False,
                "properties": {"id": ID, "title": {"type": "string", "maxLength": 200},
                               "steps": {"$ref": "#/$defs/steps"}},
            }},
        },
        "$defs": defs,
    }
