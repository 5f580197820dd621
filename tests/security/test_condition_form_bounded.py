"""Promise: a condition's form costs work in proportion to the branches the form can have, never to a count
the browser posts (`branches._count`), so an editor cannot hold a web worker (other bots' editors and visitors)
with one request. Measured in the form's reads, not in time."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from designer.conditions import form_with_expressions
from designer.schemaform import MAX_ITEMS

DOC = {"format": 3, "id": "b", "name": "B", "start": "main", "dialogs": [{"id": "main", "steps": [
    {"id": "ask", "type": "question", "text": "Your name?", "storage": "name"},
    {"id": "check", "type": "condition", "branches": [{"when": "true", "steps": []}], "else": []}]}]}


class CountedForm(MultiDict):
    """The posted form, counting how often the builder reads it."""

    reads = 0

    def get(self, *args, **kwargs):
        CountedForm.reads += 1
        return super().get(*args, **kwargs)

    def __contains__(self, key) -> bool:
        CountedForm.reads += 1
        return super().__contains__(key)


def test_a_huge_branch_count_reads_the_form_a_bounded_number_of_times():
    CountedForm.reads = 0
    out = form_with_expressions(DOC, CountedForm({"branches._count": str(10**12), "branches.0.when": "true"}))
    assert out.get("branches.0.when") == "true"  # the branch posted is kept as it was
    assert CountedForm.reads <= 4 * MAX_ITEMS  # about three reads per branch the form can have
