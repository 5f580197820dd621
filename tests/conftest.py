"""An app per test on a database of its own: a temp SQLite file, or with DATABASE_URL naming PostgreSQL a
fresh schema in that database. Migrations run for real either way. Safe under pytest-xdist.

Redis is real too: REDIS_URL's server when set, else one embedded server per test process; each test's
queues carry a prefix of their own, so tests sharing a server never see each other's jobs."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from clock import Clock
from golden import load_doc
from jobs import Jobs
from pytest_httpserver import HTTPServer
from webhook_receiver import Receiver
from werkzeug.serving import make_server

from app import create_app, normalize_database_url
from runtime.extensions import db
from runtime.jobs import embedded
from runtime.store.bots import import_bot
from tests.directline_client import FakeClock, secret_of

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
POSTGRES_URL = DATABASE_URL if DATABASE_URL.startswith(("postgres://", "postgresql")) else None
REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture(scope="session")
def postgres():
    """A connection engine to the PostgreSQL server the tests run against, or None for SQLite."""
    if POSTGRES_URL is None:
        yield None
        return
    engine = sa.create_engine(normalize_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def database(postgres, tmp_path):
    """Configuration for a database nobody else uses: a file under tmp_path or a new schema."""
    if postgres is None:
        yield {}
        return
    schema = f"t_{uuid.uuid4().hex}"
    with postgres.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    options = f"-csearch_path={schema} -csynchronous_commit=off"  # tests need no durability, only speed
    yield {"DATABASE_URL": POSTGRES_URL, "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": options}}}
    with postgres.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """REDIS_URL, or an embedded server for this test process (its child, as `make run`'s is: it ends with the
    process even when pytest is killed), stopped at the end."""
    if REDIS_URL:
        yield REDIS_URL
        return
    server = embedded.start(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture
def app_config():
    """More settings for the test app: a test folder or module overrides this to add its own."""
    return {}


@pytest.fixture
def app(database, redis_url, tmp_path, app_config):
    app = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "test", **database,
                      "REDIS_URL": redis_url, "ARBOR_REDIS_PREFIX": f"t{uuid.uuid4().hex[:12]}:", **app_config})
    yield app
    with app.app_context():
        db.engine.dispose()  # let the schema be dropped, and close SQLite files


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def dl_clock() -> FakeClock:
    """A Direct Line clock the test moves (for DIRECTLINE_CLOCK in its module's app_config)."""
    return FakeClock(1_900_000_000.0)


@pytest.fixture
def dl_server(served, bots) -> str:
    """The served app with the `dl-shop` bot: the Direct Line stream tests' server."""
    bots.load("dl-shop")
    return served


@pytest.fixture
def dl_secret(app, dl_server) -> str:
    """The Direct Line secret of `dl-shop` on `dl_server`."""
    return secret_of(app, "dl-shop")


@pytest.fixture
def served(app) -> Iterator[str]:
    """The test app served by werkzeug on a port of 127.0.0.1 (threaded, as `make run` serves it), for what the
    test client cannot do (WebSockets); its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()




class Bots:
    """Bots imported into the test app: `bots.load("store-basics")` imports and publishes a fixture."""

    def __init__(self, app):
        self.app = app

    def load(self, name: str, *, publish: bool = True) -> dict:
        doc = load_doc(name)
        with self.app.app_context():
            import_bot(doc, publish=publish)
        return doc


@pytest.fixture
def bots(app):
    return Bots(app)


@pytest.fixture
def clock(request):
    """The time Arbor and RQ see, moved on by the test (tests/clock.py); from the test module's CLOCK_START
    when it sets one."""
    made = Clock(getattr(request.module, "CLOCK_START", None)).start()
    yield made
    made.stop()


@pytest.fixture
def jobs(app, clock):
    """The test app's background jobs: `jobs.drain()` runs them in this process on the test's clock (tests/jobs.py)."""
    return Jobs(app, clock)


@pytest.fixture
def receiver():
    """A webhook receiver on loopback (tests/webhook_receiver.py): what it got, and answers set on demand."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    made = Receiver(server)
    yield made
    made.release.set()
    server.clear()
    server.stop()


def pytest_terminal_summary(terminalreporter) -> None:
    """The faults suite's table (tests/faults/tally.py): what each fault lost or doubled, on one screen."""
    from tests.faults.tally import summary
    text = summary(terminalreporter.stats)
    if text:
        terminalreporter.write_sep("=", "faults: turns and effects counted")
        terminalreporter.write_line(text)
