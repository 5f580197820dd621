"""The client side of a Direct Line stream, as the stream tests use it (simple-websocket; the app served on
loopback by the `served` fixture of tests/conftest.py)."""

from __future__ import annotations

import json

import requests
from simple_websocket import Client

from tests.api.directline_client import DL, bearer

WAIT = 10  # seconds a frame may take to come; a generous bound, never a measurement


def start(server: str, secret: str) -> dict:
    started = requests.post(f"{server}{DL}/conversations", headers=bearer(secret), json={"user": {"id": "dl_ann"}},
                            timeout=WAIT)
    assert started.status_code == 201, started.text
    return started.json()


def activity_set(ws: Client) -> dict:
    """The next ActivitySet on the stream (skipping keep-alives)."""
    while True:
        frame = ws.receive(timeout=WAIT)
        assert frame is not None, "no frame came"
        if frame:
            return json.loads(frame)


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
