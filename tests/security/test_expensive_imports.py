"""Hole 9 of issue 15: expensive rejected imports. A 4.7 MB bot of 40,000 steps held a web thread for 18 s
before its 422, and the 422 page sent the whole document back (a hidden field for "import anyway").

Now a document larger than ARBOR_MAX_DOCUMENT_BYTES is refused by its size before any of it is read (the
designer's import page and JSON editor by Content-Length, the CLI by the file's size); a bot of more than
ARBOR_MAX_STEPS steps is refused by a cheap count before the schema and the semantic checks run; and a
rejected document's page carries only short excerpts, while "import anyway" posts back an id of the file
kept on the server."""

from __future__ import annotations

import json
import re
import sys
from io import BytesIO
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "api")]

from designer_client import Designer  # noqa: E402

from runtime import botdoc  # noqa: E402
from runtime.botdoc import checks, structure  # noqa: E402
from runtime.store.bots import get_bot  # noqa: E402

SMALL_PAGE = 20_000  # bytes: the import page with its problems, never the document


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


@pytest.fixture
def deep_checks(monkeypatch):
    """Counts of what a refusal must not reach: JSON parsing, the schema (both paths), the semantic checks."""
    calls = {"parse": 0, "schema": 0, "semantic": 0}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(botdoc, "parse", counted("parse", botdoc.parse))
    monkeypatch.setattr(structure, "valid_steps", counted("schema", structure.valid_steps))
    monkeypatch.setattr(structure, "check_schema", counted("schema", structure.check_schema))
    monkeypatch.setattr(checks, "check", counted("semantic", checks.check))
    return calls


class CountingStream(BytesIO):
    """A request body that counts the bytes the server reads from it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.taken = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.taken += len(line)
        return line


def bot(dialogs: int, steps: int, **step) -> dict:
    return {"format": 1, "id": "big", "name": "Big", "start": "d0",
            "dialogs": [{"id": f"d{d}", "title": f"Dialog {d}",
                         "steps": [{"id": f"s{d}-{i}", "type": "message", "text": f"Hello {d}-{i}", **step}
                                   for i in range(steps)]} for d in range(dialogs)]}


def upload(designer: Designer, doc: dict | bytes, name: str = "bot.json"):
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return designer.post("/designer/import", {"file": (BytesIO(data), name)}, content_type="multipart/form-data")


# --- refused by size, before reading -----------------------------------------------------------------


def test_an_oversized_import_is_refused_before_its_body_is_read(app, designer, deep_checks):
    limit = app.config["ARBOR_MAX_DOCUMENT_BYTES"]
    data = json.dumps(bot(1, 1)).encode() + b" " * (limit + 1024 * 1024)
    boundary, body = encode_multipart({"csrf_token": designer.token, "file": FileStorage(BytesIO(data), "huge.json")})
    stream = CountingStream(body)
    response = designer.client.post("/designer/import", input_stream=stream, content_length=len(body),
                                    content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "a bot may be at most 5.0 MB (ARBOR_MAX_DOCUMENT_BYTES)" in response.text
    assert "The file is 6.0 MB" in response.text
    assert stream.taken == 0, "not a byte of the upload was read"
    assert deep_checks == {"parse": 0, "schema": 0, "semantic": 0}
    assert len(response.data) < SMALL_PAGE


def test_an_oversized_json_edit_is_refused_before_its_body_is_read(app, designer, deep_checks):
    bot_id = designer.create_bot("Edited")
    limit = app.config["ARBOR_MAX_DOCUMENT_BYTES"]
    body = ("csrf_token=" + designer.token + "&document=" + "%20" * (limit + 100_000)).encode()
    stream = CountingStream(body)
    response = designer.client.post(f"/designer/bots/{bot_id}/json", input_stream=stream, content_length=len(body),
                                    content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413 and "ARBOR_MAX_DOCUMENT_BYTES" in response.text
    assert stream.taken == 0 and deep_checks["parse"] == 0
    assert len(response.data) < SMALL_PAGE


def test_the_cli_refuses_an_oversized_file_by_its_size(app, runner, tmp_path, deep_checks):
    app.config["ARBOR_MAX_DOCUMENT_BYTES"] = 1000
    big = tmp_path / "big.json"
    big.write_text(json.dumps(bot(1, 100)))
    for command in ("validate", "import"):
        result = runner.invoke(args=["bots", command, str(big)])
        assert result.exit_code == 1
        assert "a bot may be at most 0.0 MB (ARBOR_MAX_DOCUMENT_BYTES)" in result.output
    assert deep_checks == {"parse": 0, "schema": 0, "semantic": 0}


# --- refused by its number of steps, before the schema -----------------------------------------------


def test_a_bot_of_40000_steps_is_refused_before_schema_validation(designer, deep_checks):
    doc = bot(40, 1000, colour="red")  # an unknown field on every step: jsonschema's slow path, 18 s before
    response = upload(designer, doc)
    assert response.status_code == 422
    assert ("This bot has 40,000 steps; Arbor accepts at most 20,000 (ARBOR_MAX_STEPS)." in
            response.text.replace("&#39;", "'"))
    assert "dialog “Dialog 0”" in response.text and "/dialogs/0" in response.text  # its place, as other errors
    assert deep_checks == {"parse": 1, "schema": 0, "semantic": 0}
    assert len(response.data) < SMALL_PAGE
    assert 'name="kept"' not in response.text, "too large to be imported anyway"


def test_the_step_limit_counts_branches_and_follows_the_setting(app, designer, deep_checks):
    app.config["ARBOR_MAX_STEPS"] = 50
    doc = bot(1, 10)
    doc["dialogs"][0]["steps"].append({"id": "c", "type": "condition", "branches": [
        {"when": "true", "steps": [{"id": f"b{i}", "type": "end"} for i in range(45)]}], "else": []})
    response = upload(designer, doc)
    assert response.status_code == 422 and "This bot has 56 steps; Arbor accepts at most 50" in response.text
    assert deep_checks["schema"] == 0 and deep_checks["semantic"] == 0
    app.config["ARBOR_MAX_STEPS"] = 56
    assert upload(designer, doc).status_code == 302


def test_the_count_is_not_fooled_by_a_malformed_document():
    doc = {"format": 1, "dialogs": [{"steps": [{"type": "choice", "options": "x"}, 7, None,
                                               {"type": "condition", "branches": [None]},
                                               {"type": ["list"], "else": [1, 2]}]}, "x", {"steps": {}}]}
    assert botdoc.count_steps(doc) == (5, [("/dialogs/0", 5), ("/dialogs/1", 0), ("/dialogs/2", 0)])
    assert botdoc.count_steps({"dialogs": {"a": {"steps": [{}, {}]}}}) == (2, [("/dialogs/a", 2)])  # format 0


# --- a rejected document is never echoed ---------------------------------------------------------------


def test_a_rejected_document_page_carries_only_short_excerpts(designer):
    doc = bot(30, 20)
    for dialog in doc["dialogs"]:
        dialog["steps"][0] = {"id": dialog["steps"][0]["id"], "type": "goto", "dialog": "missing"}
        dialog["steps"][1]["text"] = "SECRET-MIDDLE " * 2000 + "TAIL-MARKER"
    response = upload(designer, doc)
    assert response.status_code == 422 and "import-problems" in response.text
    assert len(response.data) < SMALL_PAGE + 30 * 600
    assert "TAIL-MARKER" not in response.text and "Hello 29-19" not in response.text
    assert 'name="document"' not in response.text
    excerpts = re.findall(r'<pre class="excerpt"[^>]*>(.*?)</pre>', response.text, re.S)
    assert excerpts and all(len(e) <= 300 for e in excerpts)
    assert "SECRET-MIDDLE" in excerpts[0], "the excerpt is the JSON at the problem's place, cut short"


def test_a_syntax_error_shows_the_text_around_it_only(designer):
    data = json.dumps(bot(50, 50)).encode()
    broken = data[:-2] + b",,]}"  # the mistake at the very end of 100 kB
    response = upload(designer, broken)
    assert response.status_code == 422 and "Not valid JSON" in response.text
    assert len(response.data) < SMALL_PAGE
    (excerpt,) = re.findall(r'<pre class="excerpt"[^>]*>(.*?)</pre>', response.text, re.S)
    assert len(excerpt) <= 300 and ",," in excerpt


# --- import anyway still works ----------------------------------------------------------------------------


def test_a_document_with_only_warnings_imports(app, designer):
    doc = bot(1, 2)
    doc["dialogs"][0]["steps"][0]["text"] = "Hi {{ nickname }}"  # read before any step writes it: a warning
    with app.app_context():
        assert [p.severity for p in botdoc.validate(doc)] == ["warning"]
    response = upload(designer, doc)
    assert response.status_code == 302
    with app.app_context():
        assert get_bot("big").draft["dialogs"][0]["steps"][0]["text"] == "Hi {{ nickname }}"


def test_import_anyway_posts_back_an_id_of_the_kept_file(app, client, designer):
    doc = bot(1, 3)
    doc["start"] = "nowhere"  # an error the editor can show on its place
    doc["dialogs"][0]["steps"][0]["text"] = "Hi {{ nickname }}"  # and a warning
    response = upload(designer, doc, name="mine.json")
    assert response.status_code == 422 and "Import anyway" in response.text
    kept = re.search(r'name="kept" value="([^"]+)"', response.text)[1]

    other = Designer(app, app.test_client()).sign_in("eve@example.com", "other horse", "editor")
    stolen = other.post("/designer/import", {"anyway": "1", "kept": kept})
    assert stolen.status_code == 422 and "no longer kept" in stolen.text, "the id is bound to who uploaded it"

    imported = designer.post("/designer/import", {"anyway": "1", "kept": kept, "filename": "mine.json"})
    assert imported.status_code == 302
    with app.app_context():
        assert get_bot("big").draft["start"] == "nowhere"
    again = designer.post("/designer/import", {"anyway": "1", "kept": kept})
    assert again.status_code == 422 and "no longer kept" in again.text, "used once, then removed"
    assert not list((Path(app.config["ARBOR_DATA"]) / "kept-imports").glob("*.json"))


def test_a_kept_file_expires(app, designer, clock):
    doc = bot(1, 1)
    doc["start"] = "nowhere"
    kept = re.search(r'name="kept" value="([^"]+)"', upload(designer, doc).text)[1]
    clock.move_to(clock.later(minutes=31))
    expired = designer.post("/designer/import", {"anyway": "1", "kept": kept})
    assert expired.status_code == 422 and "no longer kept" in expired.text


def test_a_made_up_kept_id_reads_nothing(designer):
    for kept in ("../../secret_key", "x", "a" * 200, "1-" + "a" * 30):
        response = designer.post("/designer/import", {"anyway": "1", "kept": kept})
        assert response.status_code == 422 and "no longer kept" in response.text
