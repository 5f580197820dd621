"""Promise: a Direct Line stream's client cannot stop the streams of others, in the web app or the stream
process: what it sends (binary, not UTF-8, not JSON) is read and dropped, a message over MAX_CLIENT_MESSAGE closes
its own stream (1009) rather than being held in memory, and many streams opened and never read leave the next
visitor's stream and chat working.

Real parts: the app served on loopback, the suite's Redis, simple-websocket's client and raw sockets."""

from __future__ import annotations

import os
import socket
from base64 import b64encode
from urllib.parse import urlsplit

import pytest
from simple_websocket import Client, ConnectionClosed

from runtime.channels.directline.stream import MAX_CLIENT_MESSAGE
from tests.stream_client import WAIT, activity_set, next_texts, say, start, stream_body, texts

assert stream_body  # the autouse fixture: every promise here holds for the web app and for the stream process

OPENED = 300  # streams opened and never read, beside the one that must keep working


@pytest.fixture
def app_config(dl_clock):
    return {"DIRECTLINE_CLOCK": dl_clock, "DIRECTLINE_STREAM_KEEPALIVE": 0.3}


def test_garbage_frames_are_dropped_and_the_stream_goes_on(dl_server, dl_secret):
    conversation = start(dl_server, dl_secret)
    ws = Client.connect(conversation["streamUrl"])
    try:
        assert texts(activity_set(ws)) == ["Hi there!", "What next?"]
        for frame in (b"\x00\xff" * 1000, "{not json", "x" * MAX_CLIENT_MESSAGE, '{"type": "message", "text": "x"}'):
            ws.send(frame)
        say(dl_server, conversation, "hello")
        assert "hello" in next_texts(ws, 2)  # the visitor's message comes back on the stream, then the bot's
    finally:
        ws.close()


def test_a_message_too_big_closes_its_own_stream_only(dl_server, dl_secret):
    conversation = start(dl_server, dl_secret)
    ws = Client.connect(conversation["streamUrl"])
    activity_set(ws)
    ws.send("x" * (MAX_CLIENT_MESSAGE + 1))
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.receive(timeout=WAIT)
    assert closed.value.reason == 1009  # Message Too Big
    fresh = start(dl_server, dl_secret)
    other = Client.connect(fresh["streamUrl"])
    try:
        assert texts(activity_set(other)) == ["Hi there!", "What next?"]
    finally:
        other.close()


def upgrade_and_never_read(url: str) -> socket.socket:
    """A client that asks for the stream and then reads nothing, ever."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=WAIT)
    sock.sendall((f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {b64encode(os.urandom(16)).decode()}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    return sock


def test_many_streams_never_read_leave_the_next_visitors_stream_working(dl_server, dl_secret):
    idle = []
    try:
        for _ in range(OPENED // 3):
            conversation = start(dl_server, dl_secret)
            idle += [upgrade_and_never_read(conversation["streamUrl"]) for _ in range(3)]
        fresh = start(dl_server, dl_secret)
        ws = Client.connect(fresh["streamUrl"])
        try:
            assert texts(activity_set(ws)) == ["Hi there!", "What next?"]
            say(dl_server, fresh, "hello")
            assert "hello" in next_texts(ws, 2)
        finally:
            ws.close()
    finally:
        for sock in idle:
            sock.close()
