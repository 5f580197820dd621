"""A bot's settings are one JSON document that several features save into: two saves at the same moment, from
two processes (here two apps on one database, each with its own connections), both survive.

The race is made, not hoped for: the first save is held while it has the bot read, until the second save is
under way (it has asked for the bot's lock, or, were there no lock, has read the bot and computed its own
value). Both then finish; the document must hold what each saved.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from races import Race, another_app, asks_for_lock, engine_of
from sqlalchemy import event

from runtime.channels import share_link
from runtime.channels.directline import cors
from runtime.store import bots as store

ROUNDS = 12


@pytest.fixture
def other(app) -> Iterator[Flask]:
    """Another web process: an app of its own on the same database."""
    with another_app(app) as made:
        yield made


@pytest.fixture
def bot(app, bots) -> str:
    bots.load("store-basics")
    return "store-basics"


def settings_of(app: Flask, bot: str) -> dict:
    with app.app_context():
        return dict(store.get_bot(bot).settings or {})


def test_two_saves_of_different_settings_at_once_keep_both(app, other, bot):
    race = Race(other)

    for n in range(ROUNDS):
        def first(n: int = n) -> None:
            def change(_: object) -> int:
                race.hold()
                return n
            store.change_setting(bot, "first", change)

        def second(n: int = n) -> None:
            def change(_: object) -> int:
                race.second_under_way.set()  # only a save that read the bot without waiting for it gets here
                return n
            store.change_setting(bot, "second", change)

        race.run(app, first, other, second)
        assert {key: settings_of(app, bot).get(key) for key in ("first", "second")} == {"first": n, "second": n}


def test_two_saves_of_one_setting_at_once_apply_both(app, other, bot):
    """A change computed from the value before (a counter here, a list of canned answers in the product) sees
    the other save's value, never the one both read."""
    race = Race(other)

    def count(before: int | None) -> int:
        return (before or 0) + 1

    for n in range(ROUNDS):
        def first() -> None:
            store.change_setting(bot, "count", lambda before: (race.hold(), count(before))[1])

        def second() -> None:
            store.change_setting(bot, "count", lambda before: (race.second_under_way.set(), count(before))[1])

        race.run(app, first, other, second)
        assert settings_of(app, bot)["count"] == 2 * (n + 1)


def test_the_share_panel_saving_websites_while_the_link_is_renewed_keeps_both(app, other, bot):
    """The features' own saves: the first is held once it has the bot's lock, as a slow request would be."""
    race = Race(other)

    @event.listens_for(engine_of(app), "after_cursor_execute")
    def _locked(conn, cursor, statement, *args) -> None:
        if asks_for_lock(statement):
            race.hold()

    tokens: list[str] = []
    for n in range(ROUNDS):
        origin = f"https://shop{n}.example"
        race.run(app, lambda origin=origin: cors.set_allowed_origins(bot, [origin]),
                 other, lambda: tokens.append(share_link.renew(bot)))
        saved = settings_of(app, bot)
        assert (saved[cors.SETTING], saved[share_link.SETTING]) == ([origin], tokens[-1])
