"""`flask --app app datasets ...`: define, push, pull and look into a bot's datasets from a shell."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from runtime import shell
from runtime.datasets import pull, query, store
from runtime.store.bots import BotNotFound

datasets = AppGroup("datasets", help="Data kept in the bot's database for the dataset-query step.")


def _run(action: Callable[[], Any]) -> Any:
    return shell.run(action, (store.DatasetError, store.DatasetNotFound, BotNotFound))


@datasets.command("define")
@click.argument("bot")
@click.argument("name")
@click.option("--source", help="A URL answering JSON or CSV, pulled into the dataset.")
@click.option("--mapping", help='JSON: {"key": "id", "latitude": "lat", "longitude": "lng", "tags": "kinds", '
                                '"fields": {"name": "title"}, "rows": "data.items"}')
@click.option("--every", "interval", type=int, help="Pull every so many seconds.")
def define(bot: str, name: str, source: str | None, mapping: str | None, interval: int | None) -> None:
    """Create a dataset or change its source."""
    try:
        parsed = json.loads(mapping) if mapping else None
    except ValueError as e:
        click.echo(f"error: --mapping is not JSON: {e}", err=True)
        sys.exit(1)
    dataset = _run(lambda: store.define(bot, name, source_url=source, mapping=parsed, interval_seconds=interval))
    click.echo(json.dumps(store.describe(dataset), indent=2))


@datasets.command("push")
@click.argument("bot")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
def push(bot: str, name: str, file: Path) -> None:
    """Replace all rows of a dataset with the JSON list of rows in FILE (records in the source's shape for a
    dataset with a mapping)."""
    try:
        items = json.loads(file.read_text())
    except ValueError as e:
        click.echo(f"error: {file} is not JSON: {e}", err=True)
        sys.exit(1)
    _run(lambda: store.replace(dataset := store.get(bot, name), pull.pushed_rows(items, dataset.mapping)))
    click.echo(f"{name}: {store.get(bot, name).row_count} rows")


@datasets.command("pull")
@click.argument("bot")
@click.argument("name")
def pull_(bot: str, name: str) -> None:
    """Pull now, in this process, and say how it went."""
    dataset = _run(lambda: store.get(bot, name))
    outcome = pull.pull(dataset.id)
    click.echo(f"{name}: {outcome}")
    if outcome == "failed":
        click.echo(f"error: {store.get(bot, name).error}", err=True)
        sys.exit(1)


@datasets.command("list")
@click.argument("bot")
def list_(bot: str) -> None:
    """BOT's datasets: rows, source, last update and last error."""
    click.echo(json.dumps(_run(lambda: store.list_for(bot)), indent=2))


@datasets.command("query")
@click.argument("bot")
@click.argument("name")
@click.option("--tag", "tags", multiple=True)
@click.option("--near", help="LATITUDE,LONGITUDE")
@click.option("--radius", type=float, help="Kilometres.")
@click.option("--limit", default=10, show_default=True)
def query_(bot: str, name: str, tags: tuple[str, ...], near: str | None, radius: float | None, limit: int) -> None:
    """Try the dataset-query step's lookup."""
    point = tuple(float(x) for x in near.split(",")) if near else None
    click.echo(json.dumps(_run(lambda: query.find(bot, name, tags=list(tags), near=point, radius_km=radius,
                                                  limit=limit)), indent=2))
