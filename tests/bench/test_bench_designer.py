"""Designer benchmark (issue 4): a bot of about 2,000 steps across 100 dialogs; the server time to render the
editor page for its biggest dialog, and to apply one edit (add, move, change a field) through the htmx
endpoints, on the app's database (SQLite by default). Figures are printed, never asserted; what is timed is
checked to have worked.

    .venv/bin/python -m pytest tests/bench/test_bench_designer.py -m bench -s -q -p no:xdist
"""

from __future__ import annotations

import re
import statistics
import time

import pytest
from botgen import count_steps, generate

from designer.tree import walk
from runtime.extensions import db
from runtime.store.accounts import create_user
from runtime.store.bots import import_bot
from runtime.store.drafts import load_draft

pytestmark = pytest.mark.bench
ROUNDS = 30
PAGE_GOAL_MS, EDIT_GOAL_MS = 300, 50


def timed(call, rounds: int = ROUNDS) -> tuple[float, object]:
    """Median milliseconds of `call()` over `rounds` runs (after one warm-up), and the last answer."""
    answer = call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        answer = call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), answer


def test_editor_page_and_edits_on_a_2000_step_bot(app, client):
    doc = generate(100, 15)
    total = sum(count_steps(doc).values())
    biggest = max(doc["dialogs"], key=lambda d: sum(1 for _ in walk(d["steps"])))
    with app.app_context():
        import_bot(doc)
        create_user("bench@example.com", "bench password", "admin")
        db.session.remove()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/designer/signin").text).group(1)
    client.post("/designer/signin", data={"csrf_token": token, "email": "bench@example.com",
                                          "password": "bench password"})
    bot, dialog = doc["id"], biggest["id"]

    def revision() -> int:
        with app.app_context():
            number = load_draft(bot)[1]
            db.session.remove()
        return number

    state = {"revision": revision()}

    def edit(path: str, data: dict):
        response = client.post(f"/designer/bots/{bot}{path}", data=data, headers={
            "HX-Request": "true", "X-CSRFToken": token, "X-Draft-Revision": str(state["revision"])})
        assert response.status_code == 200, response.text[:300]
        state["revision"] = int(response.headers["X-Draft-Revision"])
        return response

    base_ms, _ = timed(lambda: client.get("/designer/users"))  # a small signed-in page: this machine's pace now
    page_ms, page = timed(lambda: client.get(f"/designer/bots/{bot}/edit?dialog={dialog}"))
    assert page.status_code == 200 and page.text.count('class="node"') == sum(1 for _ in walk(biggest["steps"]))

    first = biggest["steps"][0]["id"]
    message = next(s for s, _, _ in walk(biggest["steps"]) if s["type"] == "message")
    add_ms, _ = timed(lambda: edit("/steps", {"type": "message", "place": dialog, "index": 0, "dialog": dialog}))
    moves = iter(range(10**6))
    move_ms, _ = timed(lambda: edit(f"/steps/{first}/move", {"place": dialog, "index": next(moves) % 5,
                                                            "dialog": dialog}))
    texts = iter(range(10**6))
    field_ms, saved = timed(lambda: edit(f"/steps/{message['id']}", {"text": f"Edited {next(texts)}",
                                                                      "_dialog": dialog}))
    assert "Saved" in saved.text and state["revision"] == revision()

    print(f"\n[designer] bot of {total} steps in {len(doc['dialogs'])} dialogs; biggest dialog "
          f"{sum(1 for _ in walk(biggest['steps']))} steps ({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]})")
    print(f"[designer] a small signed-in page {base_ms:7.1f} ms   (the machine's pace during this run)")
    for label, ms, goal in (("editor page", page_ms, PAGE_GOAL_MS), ("edit: add a step", add_ms, EDIT_GOAL_MS),
                            ("edit: move a step", move_ms, EDIT_GOAL_MS),
                            ("edit: change a field", field_ms, EDIT_GOAL_MS)):
        print(f"[designer] {label:22s} {ms:7.1f} ms = {ms / base_ms:4.1f} x the small page   (goal < {goal} ms)")
