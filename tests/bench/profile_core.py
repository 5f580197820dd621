"""Profile (cProfile) what the core benchmarks time, to find where the time goes.

    .venv/bin/python tests/bench/profile_core.py WHAT [--top N] [--turns N] [--save FILE]

WHAT: validation (warm), validation-cold (schema, templates and expressions compiled anew),
engine-loop / engine (the loop bot / the generated bot, turns replayed with templates compiled),
store-loop / store (handle() on SQLite, or on the database DATABASE_URL names).
    DATABASE_URL=postgresql://root@127.0.0.1:5432/test .venv/bin/python tests/bench/profile_core.py store-loop

Prints the top functions by own time and by cumulative time; `--save FILE` keeps the raw profile
(for snakeviz or pstats).
"""

from __future__ import annotations

import argparse
import cProfile
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

from botgen import Driver, generate, loop_bot  # noqa: E402
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
        result = engine.turn(bot, state, data, inputs[-1], user=USER, now=NOW)
        state, data = result.state, result.data

    def again() -> None:
        state, data = first.state, first.data
        for inp in inputs:
            result = engine.turn(bot, state, data, inp, user=USER, now=NOW)
            state, data = result.state, result.data

    profile.runcall(again)
    return f"engine.turn x {turns} (the same turns again, templates compiled)"


def store_turns(profile: cProfile.Profile, doc: dict, turns: int) -> str:
    from app import create_app
    from runtime.extensions import db
    from runtime.store.bots import import_bot
    from runtime.store.conversations import handle, start_conversation

    config = {"TESTING": True, "ARBOR_DATA": tempfile.mkdtemp(), "SECRET_KEY": "test"}
    with _postgres_schema() as schema:  # a schema of its own on PostgreSQL, dropped afterwards, as in conftest
        config.update(schema)
        app = create_app(config)
        botdoc.check = botdoc.migrate  # the document is valid; profile the turns, not the import
        bot = botdoc.load(doc)
        with app.app_context():
            import_bot(doc, publish=True)
            conversation, _ = start_conversation(doc["id"], USER["id"], USER["channel"])
            conversation_id = conversation.id  # read once: after a commit the row is expired
            first = engine.start(bot, {}, user=USER, now=NOW)
            driver, state, data, inputs = Driver(bot), first.state, first.data, []
            for _ in range(turns * 2):
                inputs.append(driver.next_input(state))
                result = engine.turn(bot, state, data, inputs[-1], user=USER, now=NOW)
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
                                         "store"])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--turns", type=int, default=0)
    parser.add_argument("--dialogs", type=int, default=1000)
    parser.add_argument("--save")
    args = parser.parse_args()
    doc = loop_bot() if args.what.endswith("-loop") else generate(args.dialogs, 20)
    profile = cProfile.Profile()
    started = time.perf_counter()
    if args.what.startswith("validation"):
        title = validation(profile, doc, cold=args.what.endswith("cold"))
    elif args.what.startswith("engine"):
        title = engine_turns(profile, doc, args.turns or 2000)
    else:
        title = store_turns(profile, doc, args.turns or (300 if args.what == "store-loop" else 5))
    print(f"{title}: {time.perf_counter() - started:.1f} s with setup, under the profiler")
    stats = pstats.Stats(profile)
    if args.save:
        stats.dump_stats(args.save)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
