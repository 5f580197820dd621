"""The condition builder's side in the designer: the rows a person picked in a condition's form, written into
each branch's "If" (`branches.<i>.when`) before the form is read, and the branch in plain words for the tree.

The rows, their expression and their words are runtime/steps/_condition_rows.py; this module reads the posted
form (what the bot knows comes from `knows`) and names a wrong row and field as the form shows them.
"""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from designer.knows import Known, known
from designer.schemaform import MAX_ITEMS, FormError
from runtime.steps._condition_rows import ALWAYS, BY_KEY, JOINS, Condition, Row, number, read, valid_path, write
from runtime.steps._condition_rows import describe as describe_rows


def describe(expression: object, doc: dict | None = None) -> str:
    """A branch's "If" in plain words ("interest is Website"), with a choice's option titles from `doc`."""
    titles = {k.path: dict(k.options) for k in known(doc) if k.options} if doc else None
    return describe_rows(expression, titles)


# --- the form ---------------------------------------------------------------------------------------------

def _rows_from_form(form: MultiDict, prefix: str, where: str, knows: dict[str, Known],
                    action: str) -> Condition:
    count = _int(form.get(f"{prefix}.rows._count"), 0)
    join = form.get(f"{prefix}.join", "all")
    if join not in JOINS:
        raise FormError(f"{prefix}.join", f"{where}: pick “all” or “any” in “Rows must hold”.")
    rows = []
    for j in range(min(count, 50)):
        name = f"{prefix}.rows.{j}"
        if action == f"remove:{name}":
            continue
        at = f"{where}, row {j + 1}"
        subject = form.get(f"{name}.subject", "").strip()
        if not valid_path(subject):
            raise FormError(f"{name}.subject", f"{at}: pick what the bot knows in “Check” (“{subject[:40]}” is "
                                               "not a name the bot keeps).")
        op = BY_KEY.get(form.get(f"{name}.op", ""))
        if op is None:
            raise FormError(f"{name}.op", f"{at}: pick how to compare in the second list (is, contains, ...).")
        options = [value for value, _ in knows[subject].options] if subject in knows else []
        values: tuple[str, ...] = ()
        if op.takes == "several":
            picked = form.getlist(f"{name}.values") if options else \
                [v.strip() for v in form.get(f"{name}.value", "").split(",")]
            values = tuple(v for v in picked if v != "")
            if not values:
                raise FormError(f"{name}.value", f"{at}: “is one of” needs at least one value: "
                                                 + ("tick the options it may be." if options else
                                                    "write them separated by commas (Website, Shop)."))
        elif op.takes in ("one", "number"):
            value = form.get(f"{name}.value", "")
            if value == "" and options and action.startswith("redraw"):
                value = options[0]  # another subject was picked: its first option, until one is picked
            if value.strip() == "":
                raise FormError(f"{name}.value", f"{at}: “Value” is empty: "
                                                 + ("pick one of the options." if options else
                                                    "write what to compare with."))
            if op.takes == "number":
                try:
                    number(value)
                except ValueError:
                    raise FormError(f"{name}.value", f"{at}: “Value” must be a number for “{op.words}”, like 18 "
                                                     f"(not “{value[:40]}”).") from None
            values = (value,)
        rows.append(Row(subject, op.key, values))
    if action == f"add:{prefix}.rows":
        first = next(iter(knows.values()))
        rows.append(Row(first.path, "not-empty"))
    return Condition(tuple(rows), join)


def form_with_expressions(doc: dict, form: MultiDict) -> MultiDict:
    """The posted condition form with each picked branch's rows written into its `branches.<i>.when`; a branch
    with “Write it as an expression” ticked keeps what was typed. FormError names the row and field."""
    count = _int(form.get("branches._count"), 0)
    action = form.get("_action", "")
    knows = {k.path: k for k in known(doc)}
    out = MultiDict(form)
    for i in range(min(count, MAX_ITEMS)):  # as the form reads branches: a posted count is not work to do
        prefix = f"branches.{i}"
        if form.get(f"{prefix}.write") or f"{prefix}.rows._count" not in form:
            continue
        if action == f"pick:{prefix}":  # “Write it as an expression” unticked: the rows come from what was typed
            typed = form.get(f"{prefix}.when", "").strip()
            if typed and read(typed) is None:
                raise FormError(f"{prefix}.write", f"Condition {i + 1}: this expression cannot be shown as rows to "
                                                   "pick. Keep “Write it as an expression” ticked, or empty “If” "
                                                   "to start picking.")
            out.setlist(f"{prefix}.when", [typed or ALWAYS])
            continue
        condition = _rows_from_form(form, prefix, f"Condition {i + 1}", knows, action)
        if not _same(read(form.get(f"{prefix}.when", "")), condition):  # as it was: kept as typed, no edit
            out.setlist(f"{prefix}.when", [write(condition)])
    return out


def _same(before: Condition | None, after: Condition) -> bool:
    return before is not None and before.rows == after.rows and (before.join == after.join or len(after.rows) < 2)


def _int(text: object, fallback: int) -> int:
    try:
        return int(str(text))
    except ValueError:
        return fallback
