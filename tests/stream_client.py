"""The client side of a Direct Line stream, as the stream tests use it (simple-websocket; the app served on
loopback by the `served` fixture of tests/conftest.py), and `stream_body`, which runs a module's stream tests
against both bodies that serve streams: the web app itself and the stream process (stream_process.py)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from aiohttp import web
from simple_websocket import Client

from runtime.channels.directline import stream_process
from tests.directline_client import DL, bearer

WAIT = 10  # seconds a frame may take to come; a generous bound, never a measurement


def start(server: str, secret: str) -> dict:
    started = requests.post(f"{server}{DL}/conversations", headers=bearer(secret), json={"user": {"id": "dl_ann"}},
                            timeout=WAIT)
    assert started.status_code == 201, started.text
    return started.json()


def activity_set(ws: Client) -> dict:
    """The next ActivitySet of the transcript on the stream (skipping keep-alives and the bot's typing, which a
    turn may or may not push before its replies: tests/channels/test_directline_typing.py tests it)."""
    while True:
        frame = ws.receive(timeout=WAIT)
        assert frame is not None, "no frame came"
        found = json.loads(frame) if frame else None
        if found and not all(activity.get("type") == "typing" for activity in found["activities"]):
            return found


def texts(found: dict) -> list[str]:
    return [activity.get("text") for activity in found["activities"]]


def next_texts(ws: Client, count: int) -> list[str]:
    """The texts of the next `count` activities, in one ActivitySet or several."""
    found = []
    while len(found) < count:
        found += texts(activity_set(ws))
    return found


def say(server: str, conversation: dict, text: str) -> None:
    posted = requests.post(f"{server}{DL}/conversations/{conversation['conversationId']}/activities",
                           headers=bearer(conversation["token"]), timeout=WAIT,
                           json={"type": "message", "from": {"id": "dl_ann"}, "text": text})
    assert posted.status_code == 200, posted.text


@contextmanager
def serving_streams(app) -> Iterator[str]:
    """The stream process's aiohttp app for `app`, on a loop of its own on a port of 127.0.0.1; its ws:// base."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="stream-process", daemon=True)
    thread.start()
    runner = web.AppRunner(stream_process.make_app(app))
    asyncio.run_coroutine_threadsafe(runner.setup(), loop).result(WAIT)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    asyncio.run_coroutine_threadsafe(site.start(), loop).result(WAIT)
    try:
        yield f"ws://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()


@pytest.fixture(params=["web app", "stream process"], autouse=True)
def stream_body(request, app) -> Iterator[str | None]:
    """Every stream test twice: streams served by the web app, then by the stream process the web app's
    streamUrl points to (DIRECTLINE_STREAM_BASE); the process's base URL, or None."""
    if request.param == "web app":
        yield None
        return
    with serving_streams(app) as base:
        app.config["DIRECTLINE_STREAM_BASE"] = base
        yield base
