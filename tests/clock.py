"""The test's clock: time as Arbor and RQ read it (`datetime.now`, `time.time`) runs from the test's start and
jumps only when the test moves it, so an hour of retries or a ten-minute timer is checked without waiting and
without depending on how fast this machine is today.

The clock keeps running between jumps (time-machine's `tick`), so rows written one after another keep their
order by time. Monotonic clocks, sleeps and socket timeouts stay real: they measure how long work takes, not
what time it is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        """A clock from `start` (a fixed moment, for tests that count by day), else from the real now."""
        self._travel = time_machine.travel(start or datetime.now(UTC), tick=True)
        self._traveller: time_machine.Traveller | None = None

    def start(self) -> Clock:
        self._traveller = self._travel.start()
        return self

    def stop(self) -> None:
        self._travel.stop()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def later(self, **delta: float) -> datetime:
        """The moment `delta` from now (`minutes=10`, `hours=1`)."""
        return self.now() + timedelta(**delta)

    def move_to(self, moment: datetime) -> None:
        """Jump to `moment`; never backwards (RQ and the database saw the time as it was)."""
        if moment > self.now():
            self._traveller.move_to(moment)
