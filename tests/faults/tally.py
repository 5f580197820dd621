"""The faults suite's count of one fault: turns sent, stored, lost and doubled, and effects owed, done, lost and
doubled, printed as a row of the table `make test` shows at its end (tests/faults/conftest.py).

What counts (docs/faults.md says it for readers):
- a turn is *stored* when its user message is in the transcript, *lost* when it is not, *doubled* when it is
  there twice;
- an effect is *done* when it reached its outside (or its result landed) at least once, *lost* when it never
  did, *doubled* when it was done twice in a way nobody can tell apart (two messages said, two e-mails with
  different Message-IDs, two calls with no id in common). A copy sent again under the same id (Webhook-Id, a
  platform reply's messageId) is a redelivery the receiver recognises: shown in the note, not doubled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

COLUMNS = ("fault", "database", "turns sent", "stored", "lost", "doubled", "effects owed", "done", "lost",
           "doubled", "note")


@dataclass
class Tally:
    fault: str
    database: str
    sent: int = 0
    stored: int = 0
    doubled_turns: int = 0
    owed: int = 0
    done: int = 0
    doubled: int = 0
    note: str = ""

    @property
    def lost_turns(self) -> int:
        return self.sent - self.stored

    @property
    def lost(self) -> int:
        return self.owed - self.done

    def cells(self) -> list[str]:
        return [self.fault, self.database, *map(str, (self.sent, self.stored, self.lost_turns, self.doubled_turns,
                                                      self.owed, self.done, self.lost, self.doubled)), self.note]

    def clean(self) -> bool:
        return self.lost_turns == self.lost == self.doubled_turns == self.doubled == 0

    def as_dict(self) -> dict:
        return asdict(self)


def table(tallies: list[Tally]) -> str:
    """The tallies as a Markdown table (docs/faults.md keeps one)."""
    rows = [list(COLUMNS), ["---"] * len(COLUMNS), *(tally.cells() for tally in tallies)]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def summary(stats: dict) -> str:
    """The table of every fault counted in this run, from the test reports (pytest-xdist brings them from its
    workers with their `user_properties`); empty when the run counted none."""
    found: dict[str, Tally] = {}
    for reports in stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == "faults":
                    found[report.nodeid] = Tally(**value)
    return table([found[nodeid] for nodeid in sorted(found)]) if found else ""
