"""What the `flask` command groups of the background parts share: a result is JSON on stdout, a failure one
line on stderr and exit status 1, never a traceback (scripts read the one, people the other)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

T = TypeVar("T")


def run(action: Callable[[], T], errors: tuple[type[Exception], ...]) -> T:
    """`action()`, or exit 1 with its message when it raises one of `errors`."""
    try:
        return action()
    except errors as e:
        click.echo(f"error: {e.args[0] if e.args else e}", err=True)
        sys.exit(1)


def show(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))
