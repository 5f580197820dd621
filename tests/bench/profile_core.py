"""Profile (cProfile) what the core benchmarks time, to find where the time goes.

    .venv/bin/python tests/bench/profile_core.py WHAT [--top N] [--turns N] [--save FILE] [--no-profile] [--switch]

WHAT: validation (warm), validation-cold (schema, templates and expressions compiled anew),
engine-loop / engine (the loop bot / the generated bot, turns replayed with templates compiled),
store-loop / store (handle() on SQLite, or on the database DATABASE_URL names), directline (the loop
bot's Direct Line turns as the throughput benchmark makes them, POST an activity then GET from the
watermark, through the app's WSGI callable: every hook and the whole request path, no HTTP server).
    DATABASE_URL=postgresql://root@127.0.0.1:5432/test .venv/bin/python tests/bench/profile_core.py store-loop

Prints the top functions by own time and by cumulative time; `--save FILE` keeps the raw profile
(for snakeviz or pstats). `--no-profile` runs the same work without the profiler and prints CPU time per
turn: under callgrind, whose instruction counts are repeatable on a busy machine, the difference between
two turn counts is the cost of the extra turns:
    valgrind --tool=callgrind .venv/bin/python tests/bench/profile_core.py directline --no-profile --turns 400

`--switch` (directline): before each request the process hands the CPU to a partner process, which runs a
little Python and answers, as a server process gives the CPU to the client, the other worker and its own
poller thread between requests. The same turns then cost what they cost under gunicorn: code that ran
warm from request to request now starts each one with caches and branch predictors the partner used.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

from botgen import Driver, call_output, generate, loop_bot, set_up_store  # noqa: E402
from test_bench_core import NOW, USER, clear_compile_caches  # noqa: E402

from runtime import botdoc, engine  # noqa: E402


def validation(profile: cProfile.Profile, doc: dict, cold: bool) -> str:
    if cold:
        clear_compile_caches()
    else:
        botdoc.validate(doc)  # warm-up: schema, templates and expressions compiled
    profile.runcall(botdoc.validate, doc)
    return f"botdoc.validate, one {'cold' if cold else 'warm'} run"


def engine_turns(profile: cProfile.Profile, doc: dict, turns: int) -> str:
    bot = botdoc.load(doc)
    first = engine.start(bot, {}, user=USER, now=NOW)
    driver, state, data, inputs = Driver(bot), first.state, first.data, []
    for _ in range(turns):  # first visit: the inputs, and templates compiled
        inputs.append(driver.next_input(state))
        result = driver.settle(engine.turn(bot, state, data, inputs[-1], user=USER, now=NOW), user=USER, now=NOW)
        state, data = result.state, result.data

    def again() -> None:
        state, data = first.state, first.data
        for inp in inputs:
            result = driver.settle(engine.turn(bot, state, data, inp, user=USER, now=NOW), user=USER, now=NOW)
            state, data = result.state, result.data

    profile.runcall(again)
    return f"engine.turn x {turns} (the same turns again, templates compiled; settled as the store settles them)"


def store_turns(profile: cProfile.Profile, doc: dict, turns: int) -> str:
    from app import create_app
    from runtime.extensions import db
    from runtime.integrations import runner
    from runtime.integrations.calls import CallResult
    from runtime.store.bots import import_bot
    from runtime.turns.turn import handle, start_conversation

    config = {"TESTING": True, "ARBOR_DATA": tempfile.mkdtemp(), "SECRET_KEY": "test"}
    with _postgres_schema() as schema:  # a schema of its own on PostgreSQL, dropped afterwards, as in conftest
        config.update(schema)
        app = create_app(config)
        botdoc.check = botdoc.migrate  # the document is valid; profile the turns, not the import
        bot = botdoc.load(doc)
        with app.app_context():
            import_bot(doc, publish=True)
            driver = Driver(bot)
            if doc["id"] != "bench-loop":
                set_up_store(doc["id"])
                runner.perform = lambda template, integration, input_, **_: CallResult(
                    True, call_output(template.slug, input_))  # the outside world answers at once, as in the engine
            conversation, _ = start_conversation(doc["id"], USER["id"], USER["channel"])
            conversation_id = conversation.id  # read once: after a commit the row is expired
            first = engine.start(bot, {}, user=USER, now=NOW)
            state, data, inputs = first.state, first.data, []
            for _ in range(turns * 2):
                inputs.append(driver.next_input(state))
                result = driver.settle(engine.turn(bot, state, data, inputs[-1], user=USER, now=NOW), user=USER,
                                       now=NOW)
                state, data = result.state, result.data
            for n, inp in enumerate(inputs[:turns]):  # warm-up
                handle(conversation_id, inp, client_key=f"k{n}")

            def run() -> None:
                for n, inp in enumerate(inputs[turns:], start=turns):
                    handle(conversation_id, inp, client_key=f"k{n}")

            profile.runcall(run)
            database = db.engine.dialect.name
            db.engine.dispose()
    return f"handle() x {turns} on {database}"


def directline_turns(profile: cProfile.Profile, doc: dict, turns: int, switch: bool = False,
                     poll: bool = True) -> str:
    from app import create_app
    from runtime.channels.directline.secret import reveal
    from runtime.extensions import db
    from runtime.store.bots import import_bot

    config = {"ARBOR_DATA": tempfile.mkdtemp(), "SECRET_KEY": "profile" * 6}
    with _postgres_schema() as schema:
        app = create_app({**config, **schema})
        with app.app_context():
            import_bot(doc, publish=True)
            secret = reveal(doc["id"])[0]
            database = db.engine.dialect.name
            db.session.remove()
        client = _Switching(app) if switch else _WsgiClient(app)
        opened = client.call("POST", "/v3/directline/tokens/generate", secret, {})
        client.auth = opened["token"]
        url = f"/v3/directline/conversations/{opened['conversationId']}/activities"
        watermark = client.call("GET", f"{url}?watermark=")["watermark"]

        def turn(n: int) -> None:
            nonlocal watermark
            posted = client.call("POST", url, body={"type": "message", "text": f"answer {n}", "from": {"id": "u"},
                                                    "channelData": {"clientActivityID": f"c{n}"}})
            if not poll:  # a stream's client: the reply is pushed (the note published), not read
                return
            answer = client.call("GET", f"{url}?watermark={watermark}")
            watermark = answer["watermark"]
            assert any(a.get("replyToId") == posted["id"] for a in answer["activities"]), answer

        for n in range(50):  # warm-up: statements compiled and prepared, pools filled
            turn(n)
        profile.runcall(lambda: [turn(n) for n in range(50, 50 + turns)])
        with app.app_context():
            db.engine.dispose()
    if switch:
        client.stop()
    return (f"Direct Line turns ({'POST + GET' if poll else 'POST, the reply pushed'}) x {turns} on {database}"
            f"{', switching per request' if switch else ''}")


class _WsgiClient:
    """Calls the app's WSGI callable with a minimal environ, as a server would; answers are parsed JSON."""

    def __init__(self, app):
        self.app, self.auth = app, ""

    def call(self, method: str, path: str, auth: str | None = None, body: dict | None = None) -> dict:
        data = b"" if body is None else json.dumps(body).encode()
        path, _, query = path.partition("?")
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
                   "wsgi.input": io.BytesIO(data), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                   "wsgi.multiprocess": True, "wsgi.run_once": False, "REMOTE_ADDR": "127.0.0.1",
                   "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {auth or self.auth}"}
        if body is not None:
            environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(data)))
        status = []
        chunks = self.app(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            answer = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        assert status[0].startswith("200"), (status, answer)
        return json.loads(answer)


class _Switching(_WsgiClient):
    """A _WsgiClient that gives the CPU to a partner process before every request (see --switch)."""

    def __init__(self, app):
        super().__init__(app)
        ask, self._asked = os.pipe()
        self._answered, answer = os.pipe()
        self._partner = os.fork()
        if self._partner == 0:  # the partner: a little Python (a sort) for each byte, then the answer
            os.close(self._asked)
            while os.read(ask, 1):
                sorted(range(20_000), key=lambda n: -n)
                os.write(answer, b".")
            os._exit(0)
        os.close(ask)
        os.close(answer)

    def call(self, *args, **kwargs) -> dict:
        os.write(self._asked, b".")
        os.read(self._answered, 1)
        return super().call(*args, **kwargs)

    def stop(self) -> None:
        os.close(self._asked)
        os.waitpid(self._partner, 0)


class _Unprofiled:
    """Stands in for cProfile.Profile with --no-profile: runs the work and reports its CPU time."""

    def runcall(self, work):
        started = time.process_time()
        work()
        self.cpu = time.process_time() - started


@contextmanager
def _postgres_schema():
    """With DATABASE_URL naming PostgreSQL: configuration for a new schema, dropped on the way out."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield {}
        return
    import sqlalchemy as sa

    from app import normalize_database_url
    server = sa.create_engine(normalize_database_url(url), isolation_level="AUTOCOMMIT")
    name = f"t_{uuid.uuid4().hex}"
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    try:
        yield {"DATABASE_URL": url, "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={name}"}}}
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        server.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["validation", "validation-cold", "engine-loop", "engine", "store-loop",
                                         "store", "directline", "stream"])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--turns", type=int, default=0)
    parser.add_argument("--dialogs", type=int, default=1000)
    parser.add_argument("--save")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--switch", action="store_true", help="directline: another process runs between requests")
    args = parser.parse_args()
    doc = loop_bot() if args.what.endswith("-loop") or args.what in ("directline", "stream") \
        else generate(args.dialogs, 20)
    profile = _Unprofiled() if args.no_profile else cProfile.Profile()
    started = time.perf_counter()
    if args.what.startswith("validation"):
        title = validation(profile, doc, cold=args.what.endswith("cold"))
    elif args.what.startswith("engine"):
        title = engine_turns(profile, doc, args.turns or 2000)
    elif args.what in ("directline", "stream"):
        title = directline_turns(profile, doc, args.turns or 1000, switch=args.switch, poll=args.what == "directline")
    else:
        title = store_turns(profile, doc, args.turns or (300 if args.what == "store-loop" else 5))
    if args.no_profile:
        print(f"{title}: {profile.cpu / (args.turns or 1000) * 1000:.3f} ms CPU a turn")
        return
    print(f"{title}: {time.perf_counter() - started:.1f} s with setup, under the profiler")
    stats = pstats.Stats(profile)
    if args.save:
        stats.dump_stats(args.save)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
