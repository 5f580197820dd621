"""Datasets: rows (branches, products) downloaded or pushed into the bot's database and queried during a
conversation by the `dataset-query` step, for sources too slow or unstable to call while a person waits.

`store` (define, replace, upsert, read), `pull` (periodic and on-change pulls from a URL), `query` (the
step's lookup), `cli` (`flask datasets`).
"""

from __future__ import annotations

from flask import Flask

from runtime.datasets import cli, query
from runtime.jobs import periodic
from runtime.turns import effects


def init_app(app: Flask) -> None:
    periodic.every(app, "runtime.datasets.pull.pull_due", 30)
    effects.registry(app).on_turn("dataset.query", query.carry_out, answers=True)
    app.cli.add_command(cli.datasets)
