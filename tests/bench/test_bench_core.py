"""Core benchmarks: validating a big bot, engine-only turns, store-backed turns.

They print figures and never assert timings (the machines here are shared and noisy); they do assert
that what they time is right: the big bot checks clean, every turn is answered as the engine alone
answers it, nothing is "not understood", the store ends where the engine ends.

    .venv/bin/python -m pytest tests/bench -m bench -s -q -p no:xdist
    DATABASE_URL=postgresql://root@127.0.0.1:5432/test .venv/bin/python -m pytest tests/bench -m bench -s -q -p no:xdist

`BENCH_SECONDS` scales every timed window (default 1.0 = the windows below);
`BENCH_VALIDATION_BUDGET` bounds the repeated validation runs (seconds, default 60).
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from botgen import Driver, count_steps, generate, loop_bot, set_up_store, settle, texts_of, unexpected

from app import create_app
from runtime import botdoc, engine, integrations
from runtime.botdoc import checks, structure
from runtime.expressions import sandbox
from runtime.extensions import db
from runtime.steps import STEP_TYPES
from runtime.steps.base import Input

SCALE = float(os.environ.get("BENCH_SECONDS", "1.0"))
VALIDATION_BUDGET = float(os.environ.get("BENCH_VALIDATION_BUDGET", "60"))
DIALOGS, STEPS = 1000, 20
VALIDATION_GOAL_MS = 200
ENGINE_GOAL = 20_000  # turns/s on one core
STORE_GOAL = 1_000  # turns/s on SQLite
WARM_UP_TURNS = 10
POSTGRES_URL = os.environ.get("DATABASE_URL", "")
POSTGRES_URL = POSTGRES_URL if POSTGRES_URL.startswith(("postgres://", "postgresql")) else None
USER = {"id": "bench-user", "channel": "bench"}
NOW = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)

_engine_figures: dict[str, float] = {}  # µs per turn, for the store-backed ratios


def report(*lines: str) -> None:
    print("\n" + "\n".join(f"  {line}" for line in lines), flush=True)


def clear_compile_caches() -> None:
    """Forget compiled schemas, templates and expressions (every functools cache of the modules that
    compile them), so a "cold" figure is cold whatever ran before in this process."""
    from runtime.botdoc import schema
    from runtime.expressions import analysis
    for module in (analysis, sandbox, structure, schema):
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


@pytest.fixture(scope="module")
def big_doc() -> dict:
    started = time.perf_counter()
    doc = generate(DIALOGS, STEPS)
    took = time.perf_counter() - started
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report(f"machine: {os.cpu_count()} CPUs, load average {load:.2f}, Python {platform.python_version()} "
           "(shared machine: figures are noisy)",
           f"generated bot: {DIALOGS:,} dialogs x {STEPS} steps = {sum(count_steps(doc).values()):,} steps "
           f"with branches, {len(botdoc_bytes(doc)) / 1e6:.1f} MB of JSON, in {took * 1000:.0f} ms")
    return doc


def botdoc_bytes(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


# --- the generated bot ------------------------------------------------------------------------------


@pytest.mark.bench
def test_generated_bot_is_realistic(big_doc):
    steps = count_steps(big_doc)
    texts = texts_of(big_doc)
    ids = [step["id"] for step in _all_steps(big_doc)]
    # A handover waits for a person, and a sign-in for a provider's consent page: a benchmark of the bot alone has
    # neither.
    available = set(STEP_TYPES) - {"handover", "sign-in"}
    assert len(big_doc["dialogs"]) == DIALOGS
    assert all(len(d["steps"]) == STEPS for d in big_doc["dialogs"])
    assert len(ids) == len(set(ids)), "step ids are unique"
    assert available <= set(steps), f"every available step type is used; missing {available - set(steps)}"
    assert len(set(texts)) > len(texts) / 3, "texts differ, as in a real bot"
    assert len(botdoc_bytes(big_doc)) < botdoc.MAX_DOCUMENT_BYTES, "it could be uploaded"
    report(f"step types: {', '.join(f'{k} {v:,}' for k, v in steps.most_common())}",
           f"texts: {len(texts):,}, of them {len(set(texts)):,} different")


def _all_steps(doc: dict) -> list[dict]:
    from runtime.botdoc import walk
    return [step for _, step, _ in walk.steps(doc)]


@pytest.mark.bench
def test_a_user_can_walk_every_dialog_of_a_generated_bot():
    """A smaller bot of the same make: the driver reaches every dialog and is never misunderstood."""
    doc = botdoc.check(generate(100, STEPS, seed=7))
    bot = botdoc.load(doc)
    driver = Driver(bot)
    result = driver.settle(engine.start(bot, {}, user=USER, now=NOW), user=USER, now=NOW)
    state, data = result.state, result.data
    seen, turns, lapped = set(), 0, False
    started = time.perf_counter()
    while not lapped and turns < 20_000:
        result = engine.turn(bot, state, data, driver.next_input(state), user=USER, now=NOW)
        result = driver.settle(result, user=USER, now=NOW)
        turns += 1
        assert not unexpected(result.logs), result.logs
        assert result.state["waiting"], "every turn ends waiting for the user"
        dialogs = {frame["dialog"] for frame in result.state["stack"]}
        # back in the start dialog: the chain of dialogs went round once
        lapped = doc["start"] in dialogs and doc["start"] not in {f["dialog"] for f in state["stack"]}
        seen |= dialogs
        state, data = result.state, result.data
    took = time.perf_counter() - started
    assert seen == {d["id"] for d in doc["dialogs"]} - {doc["fallback"]}

    # a typo where an option is expected: the fallback dialog runs, then the step asks again
    while bot.steps[state["waiting"]["step"]]["type"] != "choice":
        result = engine.turn(bot, state, data, driver.next_input(state), user=USER, now=NOW)
        result = driver.settle(result, user=USER, now=NOW)
        state, data = result.state, result.data
    result = engine.turn(bot, state, data, Input.message("qwertyuiop"), user=USER, now=NOW)
    assert "Sorry, I did not quite get that." in [a.get("text") for a in result.activities]
    assert result.state["waiting"] == state["waiting"] and result.data["misses"] == 1
    report(f"walk: 100 dialogs of the same make, every one reached, in {turns:,} turns "
           f"({turns / took:,.0f} turns/s, templates compiled on first use)")


# --- 1. validation ----------------------------------------------------------------------------------


@pytest.mark.bench
def test_validation_time(big_doc):
    steps = sum(count_steps(big_doc).values())
    templates, expressions_ = _sources(big_doc)
    clear_compile_caches()
    started = time.perf_counter()
    problems = botdoc.validate(big_doc, max_steps=steps)
    cold = time.perf_counter() - started
    assert problems == [], problems[:5]

    started = time.perf_counter()
    phases = _phases(big_doc)  # the warm-up run, phase by phase as botdoc.validate runs them
    if phases is None:
        botdoc.validate(big_doc, max_steps=steps)
    warm_up = time.perf_counter() - started
    runs, budget_left = [], VALIDATION_BUDGET - warm_up
    while len(runs) < 5 and (not runs or budget_left > runs[-1]):
        started = time.perf_counter()
        botdoc.validate(big_doc, max_steps=steps)
        runs.append(time.perf_counter() - started)
        budget_left -= runs[-1]
    median = statistics.median(runs)
    cache = sandbox._template.cache_info()
    report(f"validation: {DIALOGS:,} dialogs x {STEPS} steps ({steps:,} steps) in {median * 1000:,.0f} ms "
           f"(goal < {VALIDATION_GOAL_MS} ms; median of {len(runs)} run{'s' * (len(runs) > 1)} after one "
           f"warm-up{'' if len(runs) == 5 else f', time-boxed to {VALIDATION_BUDGET:.0f} s'}) "
           f"= {median / (VALIDATION_GOAL_MS / 1000):,.0f}x the goal",
           f"validation, cold first run (schemas, templates and expressions compiled anew): {cold * 1000:,.0f} ms",
           "validation phases (warm-up run): " + (", ".join(f"{k} {v * 1000:,.0f} ms" for k, v in phases.items())
                                                  if phases else "not measured (botdoc's internals changed)"),
           f"validation per step: {median / steps * 1e6:,.0f} µs; the document has {len(templates):,} template "
           f"fields ({len(set(templates)):,} different; {sum(map(_plain, templates)):,} plain text; "
           f"{len({t for t in templates if not _plain(t)}):,} different with Jinja) and "
           f"{len(expressions_):,} expressions ({len(set(expressions_)):,} different)"
           + (f"; template cache holds {cache.maxsize:,}" if cache else ""))


def _phases(doc: dict) -> dict[str, float] | None:
    """botdoc.validate's phases, timed; None when its internals are no longer what this expects."""
    phases, started = {}, time.perf_counter()
    try:
        doc = botdoc.migrate(doc)
        phases["migrate"] = time.perf_counter() - started
        steps = structure.valid_steps(doc)
        phases["JSON schema (fast path) + walk"] = time.perf_counter() - started - sum(phases.values())
        if steps is None:
            return None
        assert checks.check(doc, steps) == []
        phases["semantic checks"] = time.perf_counter() - started - sum(phases.values())
    except (AttributeError, TypeError):
        return None
    return phases


def _sources(doc: dict) -> tuple[list[str], list[str]]:
    templates, found = [], []
    for step in _all_steps(doc):
        module = STEP_TYPES[step["type"]]
        for fields, into in ((getattr(module, "templates", None), templates),
                             (getattr(module, "expressions", None), found)):
            into += [source for _, source in (fields(step) if fields else ()) if isinstance(source, str)]
    return templates, found


def _plain(text: str) -> bool:
    return not any(mark in text for mark in ("{{", "{%", "{#"))


# --- 2. engine-only turns ---------------------------------------------------------------------------


@dataclass
class Run:
    """Turns of one conversation: how many, the time spent inside the timed calls, what they answered."""

    turns: int = 0
    busy: float = 0.0
    activities: int = 0
    dialogs: set = field(default_factory=set)
    inputs: list = field(default_factory=list)
    answers: list = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.turns / self.busy

    @property
    def micros(self) -> float:
        return self.busy / self.turns * 1e6


def drive(bot, state: dict, data: dict, seconds: float, *, inputs: list | None = None,
          keep: bool = False) -> tuple[Run, dict, dict]:
    """Engine turns for about `seconds` (or over the given inputs), timing only `engine.turn`: a turn is the
    user's input and, as the store completes it, the results of the dataset lookups and sync calls it asked
    for (the outside world's answering is not timed)."""
    driver, run = Driver(bot), Run()
    deadline = time.perf_counter() + seconds
    while (run.turns < len(inputs)) if inputs is not None else (time.perf_counter() < deadline):
        inp = inputs[run.turns] if inputs is not None else driver.next_input(state)
        answering = driver.outside.busy
        started = time.perf_counter()
        result = engine.turn(bot, state, data, inp, user=USER, now=NOW)
        result = driver.settle(result, user=USER, now=NOW)
        run.busy += time.perf_counter() - started - (driver.outside.busy - answering)
        run.turns += 1
        run.activities += len(result.activities)
        assert not unexpected(result.logs), result.logs  # no error, no "not understood"
        assert result.state["waiting"], "every turn ends waiting for the user"
        run.dialogs.update(frame["dialog"] for frame in result.state["stack"])
        if keep:
            run.inputs.append(inp)
            run.answers.append(result.activities)
        state, data = result.state, result.data
    return run, state, data


@pytest.mark.bench
def test_engine_turns_per_second_loop_bot():
    bot = botdoc.load(botdoc.check(loop_bot()))
    first = engine.start(bot, {}, user=USER, now=NOW)
    drive(bot, first.state, first.data, 0.2 * SCALE)  # warm-up
    run, _, data = drive(bot, first.state, first.data, 2.0 * SCALE)
    assert data["count"] == run.turns
    _engine_figures["loop"] = run.micros
    report(f"engine only, loop bot (question -> set -> goto back): {run.per_second:,.0f} turns/s, "
           f"{run.micros:,.1f} µs/turn (goal >= {ENGINE_GOAL:,} turns/s on one core: "
           f"{run.per_second / ENGINE_GOAL:.2f}x the goal), {run.turns:,} turns")


@pytest.mark.bench
def test_engine_turns_per_second_generated_bot(big_doc):
    bot = botdoc.load(big_doc)
    clear_compile_caches()
    first = engine.start(bot, {}, user=USER, now=NOW)
    cold, _, _ = drive(bot, first.state, first.data, 2.0 * SCALE, keep=True)
    again, _, _ = drive(bot, first.state, first.data, 0, inputs=cold.inputs, keep=True)
    assert again.answers == cold.answers, "the same inputs give the same answers"
    loop = _engine_figures.get("loop")
    _engine_figures["generated"] = again.micros
    report(f"engine only, generated bot, first visit (templates compiled on first use): "
           f"{cold.per_second:,.0f} turns/s, {cold.micros:,.0f} µs/turn, {cold.turns:,} turns through "
           f"{len(cold.dialogs):,} dialogs, {cold.activities / cold.turns:.1f} activities/turn",
           f"engine only, generated bot, the same turns again (templates compiled): "
           f"{again.per_second:,.0f} turns/s, {again.micros:,.0f} µs/turn "
           f"(goal >= {ENGINE_GOAL:,} turns/s: {again.per_second / ENGINE_GOAL:.2f}x the goal); "
           f"first visit / again = {cold.micros / again.micros:.1f}x"
           + (f"; generated turn / loop turn = {again.micros / loop:.1f}x" if loop else ""))




# --- 3. store-backed turns --------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_app(request, tmp_path):
    """The app on SQLite (always), and on PostgreSQL when DATABASE_URL names one.

    It is conftest's `app` whenever that runs on the wanted database; SQLite while DATABASE_URL names
    PostgreSQL is the same app made on a temp file, as conftest makes it without DATABASE_URL.
    """
    wanted = request.param
    if wanted == "postgresql" and POSTGRES_URL is None:
        pytest.skip("DATABASE_URL does not name a PostgreSQL database")
    if (wanted == "postgresql") == (POSTGRES_URL is not None):
        yield request.getfixturevalue("app")
        return
    app = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "test"})
    yield app
    with app.app_context():
        db.engine.dispose()


def _database_name() -> str:
    engine_ = db.engine
    if engine_.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (file, WAL)"
    version = ".".join(map(str, engine_.dialect.server_version_info or ()))
    return f"PostgreSQL {version} at {engine_.url.host}:{engine_.url.port or 5432}"


class _Mirrored:
    """A store-backed conversation and the same conversation in the engine alone, turn by turn:
    the store must answer each input as the engine does. Only `handle` counts as store time.

    The engine's turn is settled as the store settles it (`botgen.settle`): its dataset lookups answered
    by the store's own lookup (so both see the same rows), its sync calls by the driver's outside world,
    which also answers the store's calls (`_calls_answered_by`); the answering is not timed."""

    def __init__(self, bot, driver: Driver, conversation_id: str, state: dict, data: dict, activities: int):
        self.bot, self.driver, self.id, self.state, self.data = bot, driver, conversation_id, state, data
        self.turns, self.engine_busy, self.store_busy, self.activities = 0, 0.0, 0.0, activities
        self.answering = 0.0
        self.effects: Counter = Counter()  # what the turns asked of the world outside the engine, by kind

    def answer(self, effect: dict):
        from runtime.datasets import query
        if effect["type"] != "dataset.query":
            return self.driver.outside(effect)
        self.effects["dataset.query"] += 1  # carried out inside the turn: not among the settled turn's effects
        started = time.perf_counter()
        try:
            return query.carry_out(SimpleNamespace(bot=self.bot), effect)
        finally:
            self.answering += time.perf_counter() - started

    def turn(self, handle) -> None:
        inp = self.driver.next_input(self.state)
        answering = self.answering + self.driver.outside.busy
        started = time.perf_counter()
        expected = engine.turn(self.bot, self.state, self.data, inp, user=USER, now=NOW)
        expected, results = settle(self.bot, expected, self.answer, user=USER, now=NOW)
        middle = time.perf_counter()
        answering = self.answering + self.driver.outside.busy - answering
        replies = handle(self.id, inp, client_key=f"bench-{self.turns}")
        self.store_busy += time.perf_counter() - middle
        self.engine_busy += middle - started - answering
        self.turns += 1
        self.activities += 1 + results + len(replies)  # the inbound activities (input, results) and the replies
        self.effects.update(_kind(effect) for effect in expected.effects)
        assert _seen(replies) == _seen(expected.activities), f"turn {self.turns}"
        self.state, self.data = expected.state, expected.data

    def timings(self) -> tuple[int, float, float]:
        return self.turns, self.engine_busy, self.store_busy


def _kind(effect: dict) -> str:
    kind = effect["type"]
    return f"{kind} ({effect['timing']})" if kind == "integration.call" else kind


def _calls_answered_by(outside, monkeypatch) -> None:
    """The store's integration calls answered by the driver's outside world, as the engine's are: the runner
    does all it does for a call (secrets, the integration log, the result's turn) but the HTTP exchange."""
    from runtime.integrations import runner
    from runtime.integrations.calls import CallResult

    def perform(template, integration, input_, **_):
        answer = outside({"type": "integration.call", "integration": integration, "input": input_})
        return CallResult(True, answer["output"])

    monkeypatch.setattr(runner, "perform", perform)


def _seen(activities: list[dict]) -> list[tuple]:
    """What the user sees of activities, without the stamps the store adds."""
    return [(a["type"], a.get("text"), a.get("name"), a.get("value") if a["type"] == "event" else None,
             len(a.get("attachments", ()))) for a in activities]


@pytest.mark.bench
@pytest.mark.parametrize("which", ["loop", "generated"])
def test_store_backed_turns_per_second(store_app, which, request, monkeypatch):
    from runtime.store import bots as store_bots
    from runtime.store.models import BotUser, Conversation
    from runtime.turns.turn import handle, start_conversation

    doc = botdoc.check(loop_bot()) if which == "loop" else request.getfixturevalue("big_doc")
    if which == "generated":  # validated (and timed) above; importing it must not validate it again
        monkeypatch.setattr(botdoc, "check", botdoc.migrate)
    bot = botdoc.load(doc)  # the engine's own copy: the store's answers are checked against it
    driver = Driver(bot)
    seconds = 3.0 * SCALE
    with store_app.app_context():
        database = _database_name()
        started = time.perf_counter()
        store_bots.import_bot(doc, publish=True)
        imported = time.perf_counter() - started
        if which == "generated":
            set_up_store(doc["id"])
            _calls_answered_by(driver.outside, monkeypatch)
            integrations.get().catalog  # noqa: B018 - scanned once per process, on the first call: not a turn's work
        conversation, opening = start_conversation(doc["id"], USER["id"], USER["channel"])
        conversation_id = conversation.id
        talk = _Mirrored(bot, driver, conversation_id, {}, {}, 0)
        expected, results = settle(bot, engine.start(bot, {}, user=USER, now=NOW), talk.answer, user=USER, now=NOW)
        assert _seen(opening) == _seen(expected.activities)
        talk.state, talk.data, talk.activities = expected.state, expected.data, len(opening) + results
        for _ in range(WARM_UP_TURNS):  # not timed: compiled expressions, prepared statements, warm caches
            talk.turn(handle)
        warm, talk.effects = talk.timings(), Counter()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            talk.turn(handle)
        turns, engine_busy, store_busy = (now - then for now, then in zip(talk.timings(), warm, strict=True))
        state, data = talk.state, talk.data

        db.session.rollback()
        saved = db.session.get(Conversation, conversation_id, populate_existing=True)
        user = db.session.get(BotUser, (doc["id"], USER["id"]), populate_existing=True)
        assert saved.state == state and user.data == data, "the store ends where the engine ends"
        assert saved.activity_seq == talk.activities, "every inbound and outbound activity is kept"

    store_us, engine_us = store_busy / turns * 1e6, engine_busy / turns * 1e6
    goal = f"goal >= {STORE_GOAL:,} turns/s on SQLite" + (
        f": {turns / store_busy / STORE_GOAL:.2f}x the goal" if database.startswith("SQLite") else "")
    report(f"store-backed, {which} bot, {database}: {turns / store_busy:,.0f} turns/s, {store_us:,.0f} µs/turn "
           f"through handle() (load, turn, save; one thread; {goal}), {turns:,} turns",
           f"store-backed, {which} bot, {database}: store turn / engine-only turn = {store_us / engine_us:,.1f}x "
           f"(the same turns in the engine alone: {engine_us:,.0f} µs; the store adds {store_us - engine_us:,.0f} "
           f"µs); import + publish took {imported * 1000:,.0f} ms; {WARM_UP_TURNS} turns of warm-up not counted",
           *([f"store-backed, {which} bot: effects per 100 turns: " + ", ".join(
               f"{kind} {n * 100 / turns:.1f}" for kind, n in talk.effects.most_common())
              + " (sync calls and dataset lookups answered at once, without a network; the rest queued, "
                "no worker running)"] if talk.effects else []))
