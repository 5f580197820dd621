"""The stream process: Direct Line streams held on one asyncio loop, beside the web workers.

A threaded web worker holds each open stream on a thread of its own, so idle streams and turns share the
workers' threads (docs/benchmarks.md: about 500 idle streams per worker on this machine before turns slow down).
`flask --app app streams` serves the same `GET /v3/directline/conversations/{id}/stream` on an aiohttp loop,
where an idle stream is a socket and a timer. It is the web app's stream in another body, not a second one:
- the upgrade is checked by the web app's own `stream.check_upgrade`, run in a request context of the same URL,
  host and Origin (token, conversation, the bot's allowed websites, refused origins recorded);
- what it sends comes from `stream.pushed` or `stream.read_set`, and what it does after each wait from
  `stream.next_move`; its store reads see the bot's allowed websites as the web app's do (`stream.read_set`), so
  the first one, made once the stream watches, closes a stream whose website was removed after the upgrade's check;
- it hears committed turns, and its bot's allowed websites changing, through the process's live hub, like a web
  worker, with a waiter that wakes the loop.
A turn's note carries its activities, sent from the loop; the store is read on a small thread pool only when a
stream opens and after a gap (`stream.pushed`): idle streams and ordinary turns cost no query. Clients reach it
by DIRECTLINE_STREAM_BASE (the streamUrl's scheme://host:port, e.g. ws://127.0.0.1:5001), or by a proxy routing
the stream path to it (README: Running at scale).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import WSMsgType, web
from flask import Flask
from flask import request as flask_request

from runtime.channels import live
from runtime.channels.directline import stream, tokens
from runtime.channels.directline.errors import DirectLineError, bad_argument, watermark_arg

PATH = "/v3/directline/conversations/{conversation_id}/stream"
FLASK, STORE, KEEP = web.AppKey("flask", Flask), web.AppKey("store", ThreadPoolExecutor), web.AppKey("keep", object)
STORE_THREADS = 16  # the store is read here only when a turn was committed: a few threads serve thousands


class LoopWaiter(live.Waiter):
    """A hub waiter whose wake (on the hub's listener thread) wakes a coroutine on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        super().__init__()
        self.loop, self.event = loop, asyncio.Event()

    def wake(self, note: dict) -> None:
        self.notes.append(note)
        self.loop.call_soon_threadsafe(self.event.set)

    async def next(self, timeout: float) -> list[dict]:
        """The notes that arrived, waiting up to `timeout` seconds for one (or for `event` set by a close)."""
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            pass
        self.event.clear()
        notes = []
        while self.notes:
            notes.append(self.notes.popleft())
        return notes


def make_app(flask_app: Flask) -> web.Application:
    """The aiohttp application serving the streams of `flask_app`."""
    streams = web.Application()
    streams[FLASK], streams[STORE] = flask_app, ThreadPoolExecutor(STORE_THREADS, "arbor-stream-store")
    streams.router.add_get(PATH, _stream)
    streams.router.add_get("/healthz", _health)
    streams.on_startup.append(_listen)
    streams.on_cleanup.append(_stop)
    return streams


async def _listen(streams: web.Application) -> None:
    """Keep the hub's listener running for the process's life, so a stream opening never waits for it."""
    keep = live.hub(streams[FLASK]).watching("arbor:stream-process")
    await _run(streams, keep.__enter__)
    streams[KEEP] = keep


async def _stop(streams: web.Application) -> None:
    streams[KEEP].__exit__(None, None, None)
    streams[STORE].shutdown(wait=False)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"streams": live.hub(request.app[FLASK]).watched() - 1})


async def _run(streams: web.Application, fn: Callable, *args: Any) -> Any:
    """`fn(*args)` on the store's threads, in a request context of the Flask app (the Direct Line checks keep
    what they learn of the bot in the request, as in the web app's stream)."""
    flask_app = streams[FLASK]

    def in_context():
        with flask_app.test_request_context():
            return fn(*args)

    return await asyncio.get_running_loop().run_in_executor(streams[STORE], in_context)


def _authorize(flask_app: Flask, request: web.Request) -> tuple[tokens.Grant, stream.PageWatch, int, float, float]:
    """The web app's own check of the upgrade, in a request context of the same URL; the grant, its page and the
    bot's allowed websites the check read, the watermark asked for, the keep-alive interval and when the stream
    expires."""
    headers = {name: request.headers[name] for name in ("Origin", "X-Forwarded-Proto", "X-Forwarded-For")
               if name in request.headers}
    headers.update({"Upgrade": "websocket", "Connection": "Upgrade"})  # the stream's route matches upgrades only
    with flask_app.test_request_context(request.path_qs, base_url=f"{request.scheme}://{request.host}",
                                        headers=headers):
        stream.check_upgrade()
        return (*flask_request.environ["arbor.stream"], watermark_arg(),
                float(flask_app.config["DIRECTLINE_STREAM_KEEPALIVE"]), tokens.now() + tokens.lifetime())


async def _stream(request: web.Request) -> web.StreamResponse:
    streams, conversation_id = request.app, request.match_info["conversation_id"]
    flask_app = streams[FLASK]
    ws = web.WebSocketResponse(max_msg_size=stream.MAX_CLIENT_MESSAGE + 1)  # aiohttp refuses its limit itself
    try:
        if not ws.can_prepare(request).ok:  # a plain GET: said as the web app's routing says it
            raise bad_argument(stream.NOT_UPGRADED)
        grant, watch, after, keepalive, until = await _run(streams, _authorize, flask_app, request)
    except DirectLineError as e:
        return web.json_response({"error": {"code": e.error_code, "message": e.description}}, status=e.code)
    await ws.prepare(request)
    waiter, me, hub = LoopWaiter(asyncio.get_running_loop()), uuid.uuid4().hex, live.hub(flask_app)
    reader = asyncio.create_task(_read(ws, waiter))
    try:
        with hub.watching(conversation_id, live.websites_key(grant.bot_id), waiter=waiter):
            await _run(streams, hub.publish, conversation_id, {"stream": me})
            sent = await _send(streams, ws, grant, conversation_id, watch, after, first=True)
            while not reader.done():
                notes = await waiter.next(keepalive)
                if reader.done():
                    break
                with flask_app.app_context():
                    move = stream.next_move(notes, me, until, watch)
                if move in stream.CLOSES:
                    code, reason = stream.CLOSES[move]
                    await ws.close(code=code, message=reason.encode())
                    break
                if move == "send":
                    sent = await _send(streams, ws, grant, conversation_id, watch, sent, notes)
                if move == "typing" or (move == "send" and stream.typing_last(notes)):
                    await ws.send_str(stream.typing_set(grant, conversation_id))
                elif move == "keepalive":
                    await ws.send_str("")
    except ConnectionResetError:
        pass  # the client went away mid-send
    except DirectLineError as e:  # a store read refused the page (`stream.read_set`)
        if e.error_code != "OriginNotAllowed":
            raise
        code, reason = stream.CLOSES["refused"]
        await ws.close(code=code, message=reason.encode())
    finally:
        reader.cancel()
    return ws


async def _send(streams: web.Application, ws: web.WebSocketResponse, grant: tokens.Grant, conversation_id: str,
                watch: stream.PageWatch, after: int, notes: list[dict] | None = None, first: bool = False) -> int:
    """Send what is new after `after`: what the notes carry, on the loop; else read from the store on its
    threads. The watermark reached."""
    found = None if notes is None else stream.pushed(notes, after)
    if found is None:
        text, watermark = await _run(streams, stream.read_set, grant, conversation_id, watch, after, first)
        found = ([text] if text is not None else []), watermark
    for text in found[0]:
        await ws.send_str(text)
    return found[1]


async def _read(ws: web.WebSocketResponse, waiter: LoopWaiter) -> None:
    """Read and drop what the client sends (empty keep-alives); when it closes, wake the stream to end."""
    try:
        async for message in ws:
            if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        waiter.event.set()


def serve(flask_app: Flask, host: str, port: int) -> None:
    """Serve the streams until interrupted (`flask --app app streams`)."""
    web.run_app(make_app(flask_app), host=host, port=port, print=None, access_log=None)
