"""The turn: everything that happens when a conversation moves, in one package, read top to bottom.

`turn` (load -> engine -> settle -> save, then what the turn owes: `start_conversation`, `handle`, `append`),
`effects` (the one registry of effect handlers, in the turn and after commit), `transcript` (the rows a turn
writes), `handover` (the turn's side of handing a conversation to people), `outbox` (what a committed turn still
owes, written with it and relayed to RQ if its process could not carry it out).
"""

from __future__ import annotations

from flask import Flask

from runtime.turns import effects, handover, outbox


def init_app(app: Flask) -> None:
    """Make the app's registry of effect handlers (every feature's `init_app` after this one fills it)."""
    effects.init_app(app)
    handover.init_app(app)
    outbox.init_app(app)
