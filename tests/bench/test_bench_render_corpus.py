"""The render corpus (issue 15, hole 1): for each payload, the work done, the seconds and what stopped it;
then one bot's turn latency, alone and while another bot's conversation runs budget-long renders.
Printed, never asserted (tests/security/ holds the promises).

    .venv/bin/python -m pytest tests/bench/test_bench_render_corpus.py -m bench -s -q -p no:xdist

The turn latency is measured in one process: the other bot's render runs in a thread, so the two share the
GIL, as a gthread worker's threads do; what the figures show is that no lock makes the quick bot wait for the
slow one's render to end, and what the sandbox's giving way (sandbox.GIVE_WAY_WORK) saves it, against a
baseline in the same run where long renders hold the GIL.
"""

from __future__ import annotations

import statistics
import threading
import time

import pytest

from runtime.expressions import ExpressionError, render, sandbox
from runtime.steps.base import Input
from runtime.store.bots import import_bot
from runtime.turns.turn import handle, start_conversation
from tests.security.render_corpus import ATTACKS
from tests.security.test_turn_lock import bot

pytestmark = pytest.mark.bench
TURNS = 200


def test_render_corpus_work_and_seconds():
    print(f"\n  budget: {sandbox.MAX_WORK:,} units of work, {sandbox.MAX_SECONDS:g} s backstop")
    print(f"  {'payload':44} {'work':>12} {'% budget':>9} {'seconds':>8}  stopped by")
    for name, source in ATTACKS.items():
        started = time.perf_counter()
        try:
            render(source, {})
            stopped = "-- not stopped"
        except ExpressionError as e:
            message = str(e)
            stopped = ("work budget" if message.startswith("This text does too much work") else
                       "deadline (backstop)" if message.startswith("Too slow") else f"limit: {message[:48]}")
        elapsed = time.perf_counter() - started
        work = sandbox.last_work()
        print(f"  {name[:44]:44} {work:>12,} {work / sandbox.MAX_WORK:>9.1%} {elapsed:>8.3f}  {stopped}")


def _latencies(conversation: str) -> list[float]:
    seconds = []
    for i in range(TURNS):
        started = time.perf_counter()
        handle(conversation, Input.message(f"m{i}"))
        seconds.append(time.perf_counter() - started)
    return seconds


def _beside_slow_turns(app, slow: str, quick: str) -> tuple[list[float], list[float]]:
    """The quick bot's turn latencies while a thread runs the slow bot's budget-long turns; and those turns'."""
    stop, slow_turns = threading.Event(), []

    def keep_rendering():
        with app.app_context():
            while not stop.is_set():
                started = time.perf_counter()
                handle(slow, Input.message("go"))
                slow_turns.append(time.perf_counter() - started)

    worker = threading.Thread(target=keep_rendering)
    worker.start()
    try:
        while not slow_turns and worker.is_alive():  # one slow turn done: the next one is under way
            time.sleep(0.01)
        with app.app_context():
            beside = _latencies(quick)
    finally:
        stop.set()
        worker.join()
    return beside, slow_turns


def test_a_turn_keeps_its_latency_while_another_bot_renders_for_its_whole_budget(app, monkeypatch):
    slow_text = "{{ " + ATTACKS["reject 'in' (issue)"][3:-3] + " }}"
    with app.app_context():
        import_bot(bot("slow", slow_text), publish=True)
        import_bot(bot("quick", "Got {{ last }}"), publish=True)
        slow, quick = (start_conversation(b, u, "webchat")[0].id for b, u in (("slow", "ann"), ("quick", "bob")))
        alone = _latencies(quick)
    with monkeypatch.context() as never:  # the baseline: long renders never give way (as before issue 15)
        never.setattr(sandbox, "GIVE_WAY_WORK", 10**15)
        held, held_slow = _beside_slow_turns(app, slow, quick)
    giving, giving_slow = _beside_slow_turns(app, slow, quick)

    def ms(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else values[0] * 1000

    print(f"\n  the slow bot's turn (a text stopped by its work budget), median: "
          f"{statistics.median(held_slow) * 1000:.0f} ms holding the GIL, "
          f"{statistics.median(giving_slow) * 1000:.0f} ms giving way every {sandbox.GIVE_WAY_WORK:,} units")
    print(f"  quick bot, {TURNS} turns:      {'alone':>10} {'beside, held':>13} {'beside, giving way':>19}")
    for label, q in (("median (ms)", 50), ("p90 (ms)", 90)):
        print(f"    {label:24} {ms(alone, q):>10.1f} {ms(held, q):>13.1f} {ms(giving, q):>19.1f}")
    print(f"    {'max (ms)':24} {max(alone) * 1000:>10.1f} {max(held) * 1000:>13.1f} {max(giving) * 1000:>19.1f}")
