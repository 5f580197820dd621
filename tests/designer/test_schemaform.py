"""The form made from a JSON Schema (integration inputs, lists in step forms) and the value read back."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from designer.schemaform import FormError, fields, parse

SCHEMA = {
    "type": "object", "required": ["email"],
    "properties": {
        "email": {"type": "string", "title": "Customer e-mail", "description": "Where to write."},
        "age": {"type": "integer"},
        "score": {"type": "number", "default": 1.5},
        "vip": {"type": "boolean"},
        "plan": {"enum": ["basic", "pro"]},
        "token": {"type": "string", "writeOnly": True},
        "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "contacts": {"type": "array", "items": {"type": "object", "required": ["name"],
                                                "properties": {"name": {"type": "string"}}}},
        "extra": {"description": "any JSON"},
    },
}
OLD = {"email": "a@b.cz", "token": "s3cret", "contacts": [{"name": "Eva", "kept": 1}], "unknown": "kept"}


def form(**values) -> MultiDict:
    return MultiDict({k.replace("__", "."): v for k, v in values.items()})


def test_fields_follow_the_schema_and_never_show_a_write_only_value():
    root = fields(SCHEMA, OLD, "params")
    by_name = {f.name: f for f in root.children}
    assert by_name["params.email"].label == "Customer e-mail" and by_name["params.email"].required
    assert by_name["params.email"].help == "Where to write."
    assert by_name["params.score"].value == 1.5  # the default
    assert by_name["params.vip"].kind == "checkbox" and by_name["params.plan"].options == ["basic", "pro"]
    assert by_name["params.token"].kind == "secret" and by_name["params.token"].value is True
    assert "s3cret" not in repr(root)
    assert by_name["params.tags"].kind == "lines" and by_name["params.extra"].kind == "json"
    contacts = by_name["params.contacts"]
    assert contacts.kind == "array" and contacts.items[0].children[0].value == "Eva"
    assert [c.name for c in by_name["params.address"].children] == ["params.address.city", "params.address.zip"]


def test_parse_reads_every_kind_back_and_keeps_what_the_form_does_not_show():
    posted = form(params__email="new@b.cz", params__age="42", params__score="2,5", params__vip__present="1",
                  params__vip="on", params__plan="pro", params__token="", params__address__city="Brno",
                  params__address__zip="", params__tags="a\n\n b \n", **{"params__contacts._count": "1"},
                  params__contacts__0__name="Eva K.", params__extra='{"x": [1]}')
    value = parse(SCHEMA, posted, "params", OLD, None, True)
    assert value == {"email": "new@b.cz", "age": 42, "score": 2.5, "vip": True, "plan": "pro", "token": "s3cret",
                     "address": {"city": "Brno"}, "tags": ["a", "b"], "contacts": [{"name": "Eva K.", "kept": 1}],
                     "extra": {"x": [1]}, "unknown": "kept"}


def test_list_items_are_added_and_removed():
    base = {"params.contacts._count": "2", "params.contacts.0.name": "A", "params.contacts.1.name": "B"}
    added = parse(SCHEMA, MultiDict(base), "params", {}, ("add", "params.contacts"), True)
    assert added["contacts"] == [{"name": "A"}, {"name": "B"}, {"name": ""}]
    removed = parse(SCHEMA, MultiDict(base), "params", {}, ("remove", "params.contacts.0"), True)
    assert removed["contacts"] == [{"name": "B"}]


def test_an_optional_group_left_blank_is_left_out():
    value = parse(SCHEMA, form(params__address__city="", params__address__zip=""), "params", {}, None, True)
    assert "address" not in value


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("params.age", "forty", "whole number"), ("params.plan", "gold", "Pick one of"),
    ("params.extra", "{oops", "not valid JSON")])
def test_values_that_do_not_fit_name_their_field(name, raw, message):
    with pytest.raises(FormError) as error:
        parse(SCHEMA, MultiDict({name: raw}), "params", {}, None, True)
    assert error.value.name == name and message in str(error.value)


FREE = {"type": "object", "properties": {
    "headers": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Headers"},
    "query": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
    "body": {"type": "object", "title": "Record"},
}}


def test_objects_with_free_keys_are_edited_as_name_value_lines_or_json():
    old = {"headers": {"Authorization": "Bearer {{ token }}", "X-Trace": "a:b"}, "body": {"name": {"first": "Eva"}}}
    by_name = {f.name: f for f in fields(FREE, old, "params").children}
    assert by_name["params.headers"].kind == "pairs" and by_name["params.query"].kind == "pairs"
    assert by_name["params.headers"].value == "Authorization: Bearer {{ token }}\nX-Trace: a:b"
    assert by_name["params.body"].kind == "json" and '"first": "Eva"' in by_name["params.body"].value

    posted = form(params__headers="Authorization: Bearer {{ token }}\n\n  Accept :application/json ",
                  params__query="", params__body='{"name": "Eva"}')
    assert parse(FREE, posted, "params", old, None, True) == {
        "headers": {"Authorization": "Bearer {{ token }}", "Accept": "application/json"}, "body": {"name": "Eva"}}
    with pytest.raises(FormError, match="Line 2: write one per line as Name: value"):
        parse(FREE, form(params__headers="A: 1\nno colon here"), "params", {}, None, True)
