"""Turns in three languages against turns in one (issue 20: within 5%), measured in one process.

The generated bot runs the same recorded inputs three ways: as a one-language bot, as a three-language bot
whose visitor speaks the default, and as that bot whose visitor speaks Czech (every text translated). Rounds
alternate, so a noisy neighbour slows every variant alike; the fastest round of each (the one least disturbed
by others on a shared machine) and the median are printed, with their ratios to one language. No timing is
asserted; what is asserted is that every variant answers the same turns, the Czech one in Czech.

    .venv/bin/python -m pytest tests/bench/test_bench_translations.py -m bench -s -q -p no:xdist
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime

import pytest
from botgen import Driver, generate, unexpected

from runtime import botdoc, engine
from runtime.botdoc import translations

SCALE = float(os.environ.get("BENCH_SECONDS", "1.0"))
USER = {"id": "bench-user", "channel": "bench"}
NOW = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
ROUNDS = 9
TURNS = int(3000 * SCALE)
KEEP_AS_IS = ("/title", "/question")  # what the driver types back (option titles, FAQ questions): the same words


def translated(doc: dict) -> dict:
    """The bot in three languages, every text translated (marked, so the answers show the language)."""
    table = {}
    for text_id, _, source in translations.texts(doc):
        keep = text_id.endswith(KEEP_AS_IS) and "/options/" in text_id or "/questions/" in text_id
        table[text_id] = source if keep else f"[cs] {source}"
    doc = {key: value for key, value in botdoc.migrate(doc).items() if key != "languages"}
    return {**doc, "languages": ["en", "cs", "de"], "translations": {"cs": table, "de": dict(table)}}


def record(bot, turns: int) -> list:
    """The inputs of `turns` turns of a driven conversation, to replay in every variant."""
    driver, inputs = Driver(bot), []
    first = engine.start(bot, {}, user=USER, now=NOW)
    state, data = first.state, first.data
    while len(inputs) < turns:
        inp = driver.next_input(state)
        result = driver.settle(engine.turn(bot, state, data, inp, user=USER, now=NOW), user=USER, now=NOW)
        inputs.append(inp)
        state, data = result.state, result.data
    return inputs


def replay(bot, inputs: list, language: str | None) -> tuple[float, list[str]]:
    """µs per turn over the inputs, and the texts answered."""
    driver = Driver(bot)
    first = engine.start(bot, {}, user=USER, now=NOW, language=language)
    state, data, said, busy = first.state, first.data, [], 0.0
    for inp in inputs:
        answering = driver.outside.busy
        started = time.perf_counter()
        result = driver.settle(engine.turn(bot, state, data, inp, user=USER, now=NOW), user=USER, now=NOW)
        busy += time.perf_counter() - started - (driver.outside.busy - answering)
        assert not unexpected(result.logs), result.logs
        said += [a.get("text", "") for a in result.activities if a.get("type") == "message"]
        state, data = result.state, result.data
    return busy / len(inputs) * 1e6, said


@pytest.mark.bench
def test_turns_in_three_languages_against_one():
    doc = generate(200, 20)
    one = botdoc.load(botdoc.check(doc))
    three = botdoc.load(botdoc.check(translated(doc)))
    inputs = record(one, TURNS)
    variants = {"one language": (one, None), "three, visitor in the default": (three, "en"),
                "three, visitor in Czech": (three, "cs")}
    for bot, language in variants.values():
        replay(bot, inputs[:200], language)  # warm-up: templates compiled, caches filled
    times: dict[str, list[float]] = {name: [] for name in variants}
    answers: dict[str, list[str]] = {}
    for _ in range(ROUNDS):
        for name, (bot, language) in variants.items():
            micros, answers[name] = replay(bot, inputs, language)
            times[name].append(micros)
    english, czech = answers["one language"], answers["three, visitor in Czech"]
    assert answers["three, visitor in the default"] == english
    assert len(czech) == len(english) and sum(t.startswith("[cs] ") for t in czech) > len(czech) / 2
    best, middle = min(times["one language"]), statistics.median(times["one language"])
    lines = [f"{len(inputs):,} turns replayed {ROUNDS} times per variant, rounds alternating:"]
    lines += [f"{name}: fastest round {min(t):,.1f} µs/turn = {min(t) / best:.3f}x one language; "
              f"median {statistics.median(t):,.1f} µs/turn = {statistics.median(t) / middle:.3f}x"
              for name, t in times.items()]
    print("\n" + "\n".join(f"  {line}" for line in lines), flush=True)
