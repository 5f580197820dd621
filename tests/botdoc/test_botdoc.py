"""The bot document: parsing, migration, schema and semantic validation, loading."""

from __future__ import annotations

import pytest
from golden import load_doc

from runtime import botdoc
from runtime.botdoc import DocumentError
from runtime.steps import STEP_TYPES


def doc(steps: list, **extra) -> dict:
    return {"format": 1, "id": "t", "name": "Test", "start": "a", "dialogs": [{"id": "a", "steps": steps}], **extra}


def errors(document) -> list[tuple[str, str]]:
    return [(p.pointer, p.message) for p in botdoc.validate(document) if p.severity == "error"]


def warnings(document) -> list[tuple[str, str]]:
    return [(p.pointer, p.message) for p in botdoc.validate(document) if p.severity == "warning"]


@pytest.mark.parametrize("name", ["booking", "faq", "lead-capture", "support"])
def test_example_bots_are_valid(name):
    assert errors(load_doc(name)) == []
    bot = botdoc.load(load_doc(name))
    assert bot.start in bot.dialogs


def test_schema_is_assembled_from_every_step_module():
    schema = botdoc.bot_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["$defs"]["step"]["properties"]["type"]["enum"]) == set(STEP_TYPES)
    assert {"message", "question", "choice", "carousel", "condition", "set", "goto", "end", "event", "wait",
            "integration", "dataset-query", "email", "sms", "clear-data", "handover", "faq",
            "sign-in"} == set(STEP_TYPES)


def test_malformed_json_says_where():
    with pytest.raises(DocumentError) as e:
        botdoc.parse('{"format": 1, "id": }')
    assert "Not valid JSON" in str(e.value) and "line 1, column 21" in str(e.value)
    with pytest.raises(DocumentError, match="JSON object"):
        botdoc.parse("[1, 2]")
    with pytest.raises(DocumentError, match="UTF-8"):
        botdoc.parse(b"\xff\xfe{")
    with pytest.raises(DocumentError, match="UTF-8"):
        botdoc.parse('{"format": 1}'.encode("utf-16"))


def test_twenty_megabytes_is_refused_before_parsing():
    with pytest.raises(DocumentError, match="The file is 19.1 MB; a bot may be at most 5.0 MB"):
        botdoc.parse(b" " * 20_000_000)


def test_branches_nested_500_deep():
    step = {"id": "s0", "type": "message", "text": "deepest"}
    for i in range(1, 500):
        step = {"id": f"s{i}", "type": "condition", "branches": [{"when": "true", "steps": [step]}]}
    document = doc([step])
    found = errors(document)
    assert len(found) == 1 and "nested more than 30 deep" in found[0][1]
    assert found[0][0].startswith("/dialogs/0/steps/0/branches/0/steps/0/")
    text = '{"id": "m", "type": "message", "text": "deepest"}'
    for i in range(500):
        text = f'{{"id": "s{i}", "type": "condition", "branches": [{{"when": "true", "steps": [{text}]}}]}}'
    with pytest.raises(DocumentError, match="Nested too deeply to read"):
        botdoc.parse(f'{{"format": 1, "dialogs": [{{"id": "a", "steps": [{text}]}}]}}')


def test_a_hundred_thousand_steps_is_refused():
    steps = [{"id": f"m{i}", "type": "end"} for i in range(1_000)]
    document = {"format": 1, "id": "t", "name": "T", "start": "d0",
                "dialogs": [{"id": f"d{d}", "steps": [{**s, "id": f"{d}-{s['id']}"} for s in steps]}
                            for d in range(100)]}
    (found,) = errors(document)
    assert found[0] == "/dialogs/0"
    assert found[1].startswith("This bot has 100,000 steps; Arbor accepts at most 20,000 (ARBOR_MAX_STEPS).")
    assert not [p for p in botdoc.validate(document, max_steps=100_000) if p.severity == "error"], \
        "a larger ARBOR_MAX_STEPS lets it through"


def test_unknown_step_type_and_wrong_types_name_the_place():
    found = errors(doc([{"id": "x", "type": "teleport"},
                        {"id": "q", "type": "question", "text": 5, "storage": "my storage", "maxRetries": "3"}]))
    assert ("/dialogs/0/steps/0/type",
            "Unknown step type \"teleport\". Use one of: " + ", ".join(STEP_TYPES) + ".") in found
    places = {pointer: message for pointer, message in found}
    assert places["/dialogs/0/steps/1/text"] == "Must be a text, not a number."
    assert "letters, digits and _" in places["/dialogs/0/steps/1/storage"]
    assert places["/dialogs/0/steps/1/maxRetries"] == "Must be a whole number, not a text."


def test_missing_and_unknown_fields():
    found = errors(doc([{"id": "m", "type": "message", "txt": "typo"}]))
    assert ("/dialogs/0/steps/0", "'text' is missing here; add it.") in found
    assert ("/dialogs/0/steps/0", "Unknown field 'txt': remove it or check its spelling.") in found


def test_references_and_ids():
    document = doc([{"id": "g", "type": "goto", "dialog": "nowhere"}, {"id": "g", "type": "end"}],
                   fallback="missing", triggers=[{"event": "e", "dialog": "gone"}])
    found = dict(errors(document))
    assert found["/dialogs/0/steps/0/dialog"].startswith("There is no dialog 'nowhere'. Dialogs in this bot: a")
    assert "used twice" in found["/dialogs/0/steps/1/id"]
    assert "/fallback" in found and "/triggers/0/dialog" in found
    document = doc([{"id": "m", "type": "end"}])
    document["dialogs"].append({"id": "a", "steps": []})
    assert dict(errors(document))["/dialogs/1/id"] == "The dialog id 'a' is used twice."


def test_expression_syntax_errors_point_at_the_field():
    found = dict(errors(doc([{"id": "m", "type": "message", "text": "Hi {{ name }"},
                             {"id": "s", "type": "set", "storage": "x", "value": "1 +"},
                             {"id": "c", "type": "condition", "branches": [{"when": "a >", "steps": []}]}])))
    assert found["/dialogs/0/steps/0/text"].startswith("Syntax error on line 1")
    assert found["/dialogs/0/steps/1/value"].startswith("Syntax error")
    assert found["/dialogs/0/steps/2/branches/0/when"].startswith("Syntax error")


def test_storage_read_but_never_written_and_unreachable_dialog_are_warnings():
    document = doc([{"id": "m", "type": "message", "text": "Hi {{ nme }}"},
                    {"id": "s", "type": "set", "storage": "n", "value": "1"},
                    {"id": "m2", "type": "message", "text": "{{ n }} {{ user.id }}"}])
    document["dialogs"].append({"id": "lonely", "steps": []})
    found = warnings(document)
    assert ("/dialogs/0/steps/0/text", "Reads 'nme', which no step keeps: it is empty unless the web page or an "
                                        "outside system provides it. Pick something the bot knows from the list, or "
                                        "let a question or choice keep its answer in 'nme'.") in found
    assert not any("'n'" in m or "'user'" in m for _, m in found)
    assert any(p == "/dialogs/1" and "lonely" in m for p, m in found)
    assert errors(document) == []


def test_step_type_rules():
    found = {}
    for pointer, message in errors(doc([
        {"id": "q", "type": "question", "text": "?", "storage": "x", "validate": "regex", "pattern": "(unclosed"},
        {"id": "k", "type": "carousel", "cards": [{"title": "a"}], "items": "list"},
        {"id": "w", "type": "wait"},
        {"id": "c", "type": "choice", "text": "?", "options": [{"title": "Yes"}, {"title": "yes"},
                                                               {"title": "Coffee", "value": "coffee"}]},
        {"id": "u", "type": "set", "storage": "user", "value": "1"},
        {"id": "i", "type": "integration", "use": "crm"},
    ])):
        found[pointer] = found.get(pointer, "") + message
    assert "not a valid regular expression" in found["/dialogs/0/steps/0/pattern"]
    assert "either cards written here" in found["/dialogs/0/steps/1"]
    assert "needs “Wait for these page events”, “Give up after (seconds)”" in found["/dialogs/0/steps/2"]
    assert "Two options share" in found["/dialogs/0/steps/3/options/1/title"]
    assert not any("/options/2" in pointer for pointer in found)  # a value that is its title in lower case
    assert "reserved name" in found["/dialogs/0/steps/4"]
    assert "No integration named 'crm'" in found["/dialogs/0/steps/5/use"]


def test_steps_left_empty_are_errors_named_by_their_labels_on_screen():
    """An empty question or message, a choice without options and a condition without a branch never pass as
    "ready to publish"; each problem names the field as the form does and says what to do."""
    found = {pointer: message for pointer, message in errors(doc([
        {"id": "q", "type": "question", "text": " ", "storage": "x"},
        {"id": "m", "type": "message", "text": ""},
        {"id": "c", "type": "choice", "text": "", "options": []},
        {"id": "k", "type": "condition", "branches": [], "else": []},
        {"id": "p", "type": "message", "text": "", "image": "https://example.com/a.png"},
    ]))}
    assert found == {
        "/dialogs/0/steps/0/text": "“What the bot asks” is empty: write the question the bot asks.",
        "/dialogs/0/steps/1/text": "“What the bot says” is empty: write what the bot says, or remove the step.",
        "/dialogs/0/steps/2/text": "“What the bot asks” is empty: write the question the options answer.",
        "/dialogs/0/steps/2/options": "A choice needs at least one option: add one with “+ Add an option”.",
        "/dialogs/0/steps/3/branches": "A condition needs at least one “If”: add one, or remove the condition step.",
    }


def test_format_is_checked_and_migrated():
    old = {"id": "t", "name": "T", "start": "a", "dialogs": {"a": {"steps": [{"id": "m", "type": "end"}]}}}
    assert errors(old) == []
    migrated = botdoc.check(old)
    assert migrated["format"] == 3 and migrated["dialogs"] == [{"id": "a", "steps": [{"id": "m", "type": "end"}]}]
    assert migrated["languages"] == ["en"] and "locale" not in migrated
    assert "dialogs" in old and isinstance(old["dialogs"], dict)  # the input is not changed
    assert "newer Arbor" in errors({**doc([]), "format": 7})[0][1]
    assert "whole number" in errors({**doc([]), "format": "1"})[0][1]


def test_check_raises_with_every_error():
    with pytest.raises(DocumentError) as e:
        botdoc.check(doc([{"id": "g", "type": "goto", "dialog": "x"}, {"id": "g", "type": "end"}]))
    assert len([p for p in e.value.problems if p.severity == "error"]) == 2


def test_sandbox_escape_strings_are_valid_syntax_but_refused_when_run():
    from chatting import Chat, texts
    c = Chat(doc([{"id": "m", "type": "message", "text": "{{ ''.__class__.__mro__ }}"},
                  {"id": "n", "type": "message", "text": "{{ cycler.__init__.__globals__ }}ok"}]))
    assert texts(c.last) == ["", ""]  # a text that fails renders empty; the turn goes on
    assert "not a safe attribute" in c.errors[0] and len(c.errors) == 2


def test_index_follows_out_of_branches():
    bot = botdoc.load(doc([{"id": "c", "type": "condition", "branches": [
        {"when": "true", "steps": [{"id": "in1", "type": "end"}, {"id": "in2", "type": "end"}]}]},
        {"id": "z", "type": "end"}]))
    assert bot.after == {"c": "z", "in1": "in2", "in2": "z", "z": None}
    assert bot.dialog_of["in2"] == "a"


def test_validating_does_not_change_the_document():
    import copy
    document = doc([{"id": "m", "type": "message", "text": "Hi"}, {"id": "g", "type": "goto", "dialog": "a"}],
                   triggers=[{"event": "e", "dialog": "a"}])
    before = copy.deepcopy(document)
    assert errors(document) == []
    assert document == before  # no defaults (format, mode, locale) filled in


def test_bad_steps_anywhere_go_the_slow_way_and_name_the_place():
    found = errors(doc([{"id": "c", "type": "condition", "branches": [
        {"when": "true", "steps": [{"id": "x", "type": "teleport"}, "text", {"id": "n"}]}]}, 7]))
    places = dict(found)
    assert places["/dialogs/0/steps/0/branches/0/steps/0/type"].startswith("Unknown step type \"teleport\"")
    assert places["/dialogs/0/steps/0/branches/0/steps/1"] == "Must be an object, not a text."
    assert places["/dialogs/0/steps/0/branches/0/steps/2"] == "'type' is missing here; add it."
    assert places["/dialogs/0/steps/1"] == "Must be an object, not a number."
    assert dict(errors(doc([{"id": "x", "type": ["message"]}])))["/dialogs/0/steps/0/type"].startswith("Unknown")


def test_unreachable_dialogs_and_reads_are_found_in_the_one_pass():
    document = doc([{"id": "h", "type": "handover", "afterDialog": "b"},
                    {"id": "i", "type": "integration", "use": "crm", "onError": {"action": "dialog", "dialog": "c"}}],
                   integrations={"crm": {"template": "crm"}})
    document["dialogs"] += [{"id": d, "steps": []} for d in ("b", "c", "d")]
    lonely = [p for p, m in warnings(document) if "Nothing leads" in m]
    assert lonely == ["/dialogs/3"]
