"""A bot's translations as files for translators: CSV (a spreadsheet) and XLIFF 1.2 (translation tools).

CSV has one row per text and a column per language (`id`, `where`, then the default language, then the
others), written through Arbor's one CSV writer (`runtime.csvfile`: a text a spreadsheet would take for a
formula gets a leading quote, which the import takes off again) and read with the standard library's csv:
translate-toolkit's CSV store keeps one target language per file and its own column names, so it would add
nothing but a second file per language. XLIFF
is one file per target language, made and read by translate-toolkit (`translate.storage.xliff`), which
translation tools (OmegaT, memoQ, Trados, Weblate) open.

An import is checked as a whole before anything is saved: every row whose id is not one of the bot's texts,
whose placeholders (`{{ name }}`) differ from its default text's, or whose template does not compile, is
an error naming its row; one error refuses the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree
from translate.storage import xliff

from designer.labels import place
from runtime import csvfile, expressions
from runtime.botdoc import translations

MAX_TEXT = 10_000
XLIFF_NAMESPACE = "urn:oasis:names:tc:xliff:document:1.2"


class ImportRefused(ValueError):
    """A translation file that cannot be imported; `errors` says each row and what to change."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Cell:
    """One translated text read from a file: where it was (for errors), its id, language, text and the
    default text the translator saw (None when the file does not say)."""

    row: str
    text_id: str
    language: str
    text: str
    source: str | None


class _Xliff12(xliff.xlifffile):
    """translate-toolkit's XLIFF store, writing version 1.2 (it reads 1.1 and 1.2 alike)."""

    XMLskeleton = (f"<?xml version='1.0' ?>\n<xliff version='1.2' xmlns='{XLIFF_NAMESPACE}'>\n"
                   "<file original='NoName' source-language='en' datatype='plaintext'>\n<body>\n</body>\n</file>\n"
                   "</xliff>")
    namespace = XLIFF_NAMESPACE


def rows(doc: dict) -> list[dict]:
    """Every text of the bot with its place in plain words and its text in each language ('' when missing)."""
    langs = translations.languages(doc)
    table = doc.get("translations") or {}
    found = []
    for text_id, pointer, source in translations.texts(doc):
        texts = {langs[0]: source} | {lang: (table.get(lang) or {}).get(text_id, "") for lang in langs[1:]}
        found.append({"id": text_id, "where": place(doc, pointer)[2], "texts": texts})
    return found


def export_csv(doc: dict) -> str:
    """The translation table as CSV (UTF-8 with a byte order mark, so spreadsheets read the accents)."""
    langs = translations.languages(doc)
    return "\ufeff" + csvfile.csv_text(({"id": row["id"], "where": row["where"], **row["texts"]} for row in rows(doc)),
                                       ["id", "where", *langs])


def _unescaped(cell: str) -> str:
    """A cell as it was before `csvfile` made it safe for spreadsheets ("'=1+1" was "=1+1")."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(csvfile.FORMULA_STARTS) else cell


def export_xliff(doc: dict, language: str) -> bytes:
    """One target language as an XLIFF 1.2 file: a trans-unit per text, its place as a note."""
    langs = translations.languages(doc)
    store = _Xliff12(sourcelanguage=langs[0], targetlanguage=language)
    for row in rows(doc):
        unit = store.addsourceunit(row["texts"][langs[0]])
        unit.setid(row["id"])
        if row["texts"].get(language):
            unit.target = row["texts"][language]
        unit.addnote(row["where"], origin="developer")
    # named once the units are in: the store finds its <file> by this name while adding them
    next(store.document.getroot().iterchildren(store.namespaced("file"))).set("original", f"{doc['id']}.json")
    return bytes(store)


def read(data: bytes, filename: str, doc: dict) -> list[Cell]:
    """The cells of an uploaded CSV or XLIFF file (by its name, else its first bytes); ImportRefused."""
    name = filename.lower()
    looks_xml = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
    if name.endswith((".xlf", ".xliff")) or (looks_xml and not name.endswith(".csv")):
        return list(_read_xliff(data, doc))
    return list(_read_csv(data, doc))


def _read_csv(data: bytes, doc: dict) -> Iterator[Cell]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(["The file is not UTF-8 text. Save the CSV as UTF-8 and import it again."]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    langs = translations.languages(doc)
    if "id" not in header:
        raise ImportRefused(["Row 1: the header has no 'id' column. Export the table first and fill in that file."])
    unknown = [h for h in header if h not in ("id", "where", "") and h not in langs]
    if unknown:
        raise ImportRefused([f"Row 1: the column '{u[:40]}' is not one of the bot's languages ({', '.join(langs)}); "
                             "add the language in the bot's settings or remove the column." for u in unknown])
    targets = [h for h in header if h in langs[1:]]
    if not targets:
        raise ImportRefused([f"Row 1: no column for a language to translate into ({', '.join(langs[1:]) or 'none'}"
                             "). Add languages in the bot's settings first."])
    column = {h: header.index(h) for h in header}
    source_at = column.get(langs[0])
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        values = [_unescaped(v) for v in values] + [""] * (len(header) - len(values))
        for lang in targets:
            yield Cell(f"Row {number}", values[column["id"]].strip(), lang, values[column[lang]],
                       values[source_at] if source_at is not None else None)


def _read_xliff(data: bytes, doc: dict) -> Iterator[Cell]:
    try:
        store = xliff.xlifffile.parsestring(data)
    except (etree.XMLSyntaxError, ValueError) as e:
        raise ImportRefused([f"Not an XLIFF 1.2 file: {str(e)[:200]}"]) from None
    langs = translations.languages(doc)
    language = translations.negotiate([store.gettargetlanguage()], langs[1:])
    if language is None:
        raise ImportRefused([f"The file's target-language is '{str(store.gettargetlanguage())[:40]}', which is not "
                             f"one of the languages to translate into ({', '.join(langs[1:]) or 'none'})."])
    for unit in store.unit_iter():
        yield Cell(f"Line {unit.xmlelement.sourceline}", str(unit.xmlelement.get("id") or ""), language,
                   str(unit.target or ""), str(unit.source or ""))


def merge(doc: dict, cells: list[Cell]) -> tuple[dict, int]:
    """The document with the cells' translations in it and how many texts changed; ImportRefused with every
    row that is wrong. Empty cells leave a text as it was; `translationSources` records the default text each
    translation was made from, so a later change of it shows the translation as possibly stale."""
    known = {text_id: source for text_id, _, source in translations.texts(doc)}
    table = {lang: dict(entries) for lang, entries in (doc.get("translations") or {}).items()}
    sources = {lang: dict(entries) for lang, entries in (doc.get("translationSources") or {}).items()}
    errors, seen, changed = [], {}, 0
    for cell in cells:
        problem = _problem(cell, known, seen)
        if problem:
            errors.append(f"{cell.row}: {problem}")
            continue
        seen[(cell.text_id, cell.language)] = cell.row
        if not cell.text.strip():
            continue
        if table.setdefault(cell.language, {}).get(cell.text_id) != cell.text:
            changed += 1
        table[cell.language][cell.text_id] = cell.text
        sources.setdefault(cell.language, {})[cell.text_id] = translations.source_hash(
            cell.source if cell.source else known[cell.text_id])
    if errors:
        raise ImportRefused(errors)
    return {**doc, "translations": table, "translationSources": sources}, changed


def _problem(cell: Cell, known: dict[str, str], seen: dict) -> str | None:
    if not cell.text_id:
        return "the id is empty; keep the id column as exported."
    if cell.text_id not in known:
        return f"there is no text '{cell.text_id[:80]}' in this bot (was its step deleted?). Remove the row."
    if (cell.text_id, cell.language) in seen:
        return f"'{cell.text_id}' is translated twice (also at {seen[(cell.text_id, cell.language)].lower()})."
    if not cell.text.strip():
        return None
    if len(cell.text) > MAX_TEXT:
        return f"the {cell.language} text is {len(cell.text):,} characters long; at most {MAX_TEXT:,}."
    if "{" in cell.text:
        _, error = expressions.template_reads(cell.text)
        if error:
            return f"the {cell.language} text is not a valid template: {error}"
    differ = translations.placeholders_differ(known[cell.text_id], cell.text)
    return f"{differ[:-1]} ({cell.language}); keep the placeholders of the text it translates." if differ else None
