"""The app context jobs run in: the worker's app, built once per process.

`flask --app app worker` hands its app over; a plain `rq worker` (DESIGN §9 allows one) builds the app
from the environment on its first job. Tests that run jobs in-process push their own app's context.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, has_app_context

F = TypeVar("F", bound=Callable[..., Any])
_process_app: Flask | None = None


def use_app(app: Flask) -> None:
    """Make `app` the one this process's jobs run in."""
    global _process_app
    _process_app = app


def in_app(function: F) -> F:
    """Run a job function inside an app context, the caller's if there is one, else the process's app."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return function(*args, **kwargs)
        with _app().app_context():
            return function(*args, **kwargs)

    return run  # type: ignore[return-value]


def _app() -> Flask:
    global _process_app
    if _process_app is None:
        from app import create_app

        _process_app = create_app()
    return _process_app
