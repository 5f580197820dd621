"""The one place Arbor writes CSV: every download (Insight tables, misses, transcripts) goes through
`csv_text`, so every cell is made safe for spreadsheets in one place.

Cells come from visitors (what they typed), so a cell that a spreadsheet would read as a formula
(one starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is escaped as OWASP's "CSV
Injection" page says: a single quote is put before it, so the spreadsheet shows it as text, and the
cell is quoted (inner double quotes doubled). Numbers Arbor computes (ints, floats) are written as
they are: a negative count is data, not a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> tuple[str, bool]:
    """(text, must_quote) for one cell: None is empty, numbers as they are, a formula-like text escaped."""
    if value is None:
        return "", False
    if isinstance(value, int | float):
        return str(value), False
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text, True
    return text, False


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def csv_text(rows: Iterable[dict], columns: list[str] | None = None) -> str:
    """Rows as CSV text with a header line (columns: those of the first row unless given); keys a row
    lacks are empty, keys not in the columns are left out."""
    rows = list(rows)
    columns = columns or (list(rows[0]) if rows else [])
    lines = [dict(zip(columns, columns, strict=True)), *rows]
    return "".join(",".join(_written(*safe_cell(row.get(column))) for column in columns) + "\n"
                   for row in lines)


def _written(text: str, escaped: bool) -> str:
    """One cell as written: an escaped one always quoted, an ordinary one quoted as the csv module
    would (only when it holds a comma, a quote or a line break)."""
    if escaped:
        return '"' + text.replace('"', '""') + '"'
    if not text:
        return ""
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow([text])
    return line.getvalue()
