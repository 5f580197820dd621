"""A PostgreSQL of the test's own (initdb in a temporary folder, on a free loopback port: never the machine's
server) stopped and started again while visitors keep sending.

While it is away a message gets 503 with Retry-After (runtime/store/outage.py) and the visitor sends it again
with the same clientActivityID, as the webchat does; once it is back every message must be in the transcript
once, and what each owes (tests/faults/owed.py) must go out once. Waits are on conditions (turns stored, a
refusal seen), never on the clock.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from owed import count_effects, set_up
from visitor import Visitor
from workers import restart, until

VISITORS, MESSAGES = 4, 6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Postgres:
    """A PostgreSQL cluster in a temporary folder, run as the `postgres` user when the test runs as root."""

    def __init__(self, bin_dir: Path, folder: Path):
        self.bin, self.folder, self.port = bin_dir, folder, free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.url = f"postgresql://{self.user or pwd.getpwuid(os.geteuid()).pw_name}@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", str(folder / "data"), "-A", "trust", "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([str(self.bin / tool), *args], user=self.user, capture_output=True, text=True,
                              cwd=self.folder, timeout=120)
        assert done.returncode == 0, f"{tool} failed: {done.stderr}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-w", "start", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off")

    def stop(self) -> None:
        """Stopped at once, as a crash would (`immediate`: no clean shutdown; what committed is in the WAL)."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")


@pytest.fixture
def postgres_own() -> Iterator[Postgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("initdb is not installed (/usr/lib/postgresql/*/bin, Debian's postgresql package): "
                    "no PostgreSQL of the test's own can be made")
    folder = Path(tempfile.mkdtemp(prefix="arbor-faults-pg-"))  # not under pytest's root-only folder
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = Postgres(Path(found[-1]).parent, folder)
    server.start()
    yield server
    with contextlib.suppress(AssertionError):
        server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def app_config(postgres_own):
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1", "DATABASE_URL": postgres_own.url,
            "SQLALCHEMY_ENGINE_OPTIONS": {}}


def stored_turns(url: str) -> int:
    """User messages in the transcript, read by the test straight from the database (0 while it is away)."""
    with contextlib.suppress(sa.exc.OperationalError):
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as connection:
                return connection.scalar(sa.text("SELECT count(*) FROM transcript_entries WHERE direction = 'in' "
                                                 "AND client_key IS NOT NULL"))
        finally:
            engine.dispose()
    return 0


def test_postgresql_stopped_and_started_under_load(app, served, postgres_own, outside, smtp, jobs, clock, tally):
    count = tally("PostgreSQL of its own stopped and started under load")
    count.database = "postgresql (own)"
    controller, inbox = smtp
    secret = set_up(app, outside, controller.port)
    visitors = [Visitor(served, secret, f"dl_pg_{n}") for n in range(VISITORS)]
    failures: list[BaseException] = []

    def chat(visitor: Visitor) -> None:
        try:
            for n in range(MESSAGES):
                visitor.say(f"{visitor.user} message {n}")
        except BaseException as e:  # noqa: BLE001 - reported by the test's thread
            failures.append(e)

    threads = [threading.Thread(target=chat, args=(visitor,)) for visitor in visitors]
    for thread in threads:
        thread.start()
    until("a few turns to be stored", lambda: stored_turns(postgres_own.url) >= VISITORS)
    postgres_own.stop()
    until("a message to be refused while the database is away",
          lambda: failures or any(visitor.refusals for visitor in visitors))
    postgres_own.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    for visitor in visitors:  # read before the clock moves on: the visitors' tokens expire
        visitor.count_turns(count)
    restart(app, jobs, clock)
    count.note = count_effects(count, [text for visitor in visitors for text in visitor.sent], outside, inbox)
    refusals = sum((visitor.refusals for visitor in visitors), start=Counter())
    count.note += f"; refused and sent again: {dict(refusals)}"
    assert refusals[503], f"no message got a 503 while the database was away: {dict(refusals)}"
    assert count.clean(), count
