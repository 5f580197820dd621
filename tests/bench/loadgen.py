"""The Direct Line benchmark's load generator: a process of its own, so its cost is not counted as the server's.

    python tests/bench/loadgen.py PLAN.json  ->  prints one JSON object (the outcome)

One asyncio loop drives every client, each over its own HTTP/1.1 connection with a minimal client
(an asyncio protocol: a request is one write; an answer is its head and a Content-Length body), so a
request costs this process a fraction of what a `requests` call in a thread costs. Arbor and both
baselines are driven by this same code. A connection is reopened when the server closes it (gunicorn's
sync workers close after every answer) and kept when the server keeps it alive.

A "stream_turn" is a turn as the widget and Web Chat make it over the Direct Line stream: POST the activity,
then wait for the reply's frame on the conversation's WebSocket (wsproto, on the same asyncio loop; the
stream is opened from a fresh streamUrl, as a reconnect does, when the client starts). Its `push_latencies`
are from the POST's answer to the reply's frame. "idle" opens `idle` streams (one per conversation in
`clients`), reads each one's first frame and holds them all open for `seconds`: what idle webchats cost.

The plan (JSON): `base` (http://127.0.0.1:PORT), `unit` ("turn", "stream_turn", "echo", "rw" or "idle"), `seconds`,
`clients` (one dict per client: `index`, and for turns `conversation`, `token`, `watermark`, `sent`),
`poll_pause`, `polls_per_turn`, `max_failures`, `question` (the bot's reply to every answer).
`server_pids` (the gunicorn workers, whose CPU time is read from /proc), `other_pids` ({name: [pid]}: the other
processes a unit costs, such as the stream process and Redis, read alike). Every client does one unit
untimed (warm-up), then all loop units until `seconds` have passed; the unit under way then finishes
and counts. The outcome: `done`, `requests`, `server_errors`, `failures` (the first few), `latencies`
(seconds, per unit), `elapsed`, `cpu` (this process's CPU seconds over the window), `server_cpu` (the
workers', or null), `other_cpu` ({name: seconds or null}), `clients` (the specs with each conversation's
watermark and messages sent so far).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from urllib.parse import urlsplit

import wsproto
from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, Request, TextMessage

DL = "/v3/directline"


class Failure(Exception):
    """A wrong answer: counted, never retried."""


class Connection:
    """One client's HTTP/1.1 connection to the server: an asyncio protocol, leaner than streams."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.answer: _Answer | None = None
        self.prefix = f"Host: {host}:{port}\r\n".encode()

    async def request(self, method: str, path: str, body: bytes = b"", headers: bytes = b"") -> tuple[int, bytes]:
        reused = self.answer is not None
        try:
            return await self._exchange(method, path, body, headers)
        except ConnectionError:
            self.close()
            if not reused:
                raise
        return await self._exchange(method, path, body, headers)  # a kept-alive connection the server ended

    async def _exchange(self, method: str, path: str, body: bytes, headers: bytes) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        if self.answer is None:
            _, self.answer = await loop.create_connection(_Answer, self.host, self.port)
        length = b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body) if method == "POST" else b""
        waiter = self.answer.expect(loop)
        self.answer.transport.write(b"%s %s HTTP/1.1\r\n%s%s%s\r\n%s" % (
            method.encode(), path.encode(), self.prefix, headers, length, body))
        status, data, close = await waiter
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.answer is not None:
            self.answer.transport.close()
        self.answer = None


class _Answer(asyncio.Protocol):
    """Collects one answer at a time: its head, then a Content-Length body (or all until the server closes)."""

    def __init__(self):
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.ended = False

    def expect(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future:
        self.buffer.clear()
        self.waiter = loop.create_future()
        if self.ended:
            self.waiter.set_exception(ConnectionResetError("the server closed the connection"))
        return self.waiter

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._settle()

    def eof_received(self) -> bool:
        self.ended = True
        self._settle()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self._settle()

    def _settle(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if self.ended:
                self.waiter.set_exception(ConnectionResetError("the server closed the connection"))
            return
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        close = fields.get(b"connection", b"").lower() == b"close"
        if b"transfer-encoding" in fields:
            self.waiter.set_exception(Failure("chunked answers are not expected from these servers"))
        elif b"content-length" in fields:
            size = int(fields[b"content-length"])
            if len(self.buffer) < end + 4 + size:
                if self.ended:
                    self.waiter.set_exception(ConnectionResetError("the answer was cut short"))
                return
            data = bytes(self.buffer[end + 4:end + 4 + size])
        elif self.ended:
            data, close = bytes(self.buffer[end + 4:]), True
        else:
            return
        self.waiter.set_result((int(lines[0].split(b" ", 2)[1]), data, close))


class Stream:
    """A Direct Line stream (a WebSocket) read on the asyncio loop: its text frames, in order."""

    def __init__(self):
        self.frames: asyncio.Queue[str] = asyncio.Queue()
        self.reader = self.writer = self.task = None

    async def open(self, url: str) -> None:
        parts = urlsplit(url)
        self.reader, self.writer = await asyncio.open_connection(parts.hostname, parts.port, limit=2**20)
        self.ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        self.writer.write(self.ws.send(Request(host=f"{parts.hostname}:{parts.port}",
                                               target=f"{parts.path}?{parts.query}")))
        accepted = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._read(accepted))
        await asyncio.wait_for(accepted, 30)

    async def _read(self, accepted: asyncio.Future) -> None:
        text = []
        try:
            while data := await self.reader.read(65536):
                self.ws.receive_data(data)
                for event in self.ws.events():
                    if isinstance(event, AcceptConnection):
                        accepted.set_result(True)
                    elif isinstance(event, RejectConnection):
                        accepted.set_exception(Failure(f"the stream was refused: {event.status_code}"))
                    elif isinstance(event, TextMessage):
                        text.append(event.data)
                        if event.message_finished:
                            self.frames.put_nowait("".join(text))
                            text = []
                    elif isinstance(event, Ping):
                        self.writer.write(self.ws.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        self.frames.put_nowait(None)
                        return
        except (OSError, wsproto.utilities.LocalProtocolError) as error:
            if not accepted.done():
                accepted.set_exception(error)
        if not accepted.done():
            accepted.set_exception(Failure("the server closed the connection before the upgrade"))
        self.frames.put_nowait(None)

    async def next_set(self, timeout: float) -> dict:
        """The next ActivitySet (keep-alives skipped); Failure if the stream closed or said nothing in time."""
        while True:
            frame = await asyncio.wait_for(self.frames.get(), timeout)
            if frame is None:
                raise Failure("the stream closed")
            if frame:
                return json.loads(frame)

    def close(self) -> None:
        if self.writer is not None:
            if self.ws.state == wsproto.connection.ConnectionState.OPEN:
                self.writer.write(self.ws.send(CloseConnection(code=1000)))
            self.writer.close()
        if self.task is not None:
            self.task.cancel()


class Client:
    """One load-generating client: its connection, and for Arbor its own conversation."""

    def __init__(self, plan: dict, spec: dict):
        parts = urlsplit(plan["base"])
        self.connection = Connection(parts.hostname, parts.port)
        self.plan, self.index = plan, spec["index"]
        self.requests = self.server_errors = 0
        self.spec = spec  # handed back with the watermark and count of messages sent, for the next run
        self.conversation = spec.get("conversation", "")
        self.watermark, self.sent = spec.get("watermark", ""), spec.get("sent", 0)
        self.auth = f"Authorization: Bearer {spec['token']}\r\n".encode() if spec.get("token") else b""
        self.stream: Stream | None = None
        self.push_latencies: list[float] = []

    async def call(self, method: str, path: str, body: object = None) -> dict:
        self.requests += 1
        status, data = await self.connection.request(method, path, b"" if body is None else json.dumps(body).encode(),
                                                     self.auth)
        if status >= 500:
            self.server_errors += 1
        if status != 200:
            raise Failure(f"{method} {path.split('?')[0]}: {status} {data[:200]!r}")
        return json.loads(data)

    async def turn(self) -> None:
        """POST a message activity, then GET from the watermark until the bot's reply to it is there."""
        self.sent += 1
        url = f"{DL}/conversations/{self.conversation}/activities"
        posted = await self.call("POST", url, {"type": "message", "text": f"answer {self.sent}",
                                               "from": {"id": f"bench-{self.index}"},
                                               "channelData": {"clientActivityID": f"c{self.index}-{self.sent}"}})
        for poll in range(self.plan["polls_per_turn"]):
            if poll:
                await asyncio.sleep(self.plan["poll_pause"])
            answer = await self.call("GET", f"{url}?watermark={self.watermark}")
            self.watermark = answer["watermark"] or self.watermark
            replies = [a for a in answer["activities"] if a.get("replyToId") == posted["id"]]
            if replies:
                if [(r["from"].get("role"), r.get("text")) for r in replies] != [("bot", self.plan["question"])]:
                    raise Failure(f"unexpected reply to {posted['id']}: {replies}")
                return
        raise Failure(f"no reply to {posted['id']} after {self.plan['polls_per_turn']} polls")

    async def stream_turn(self) -> None:
        """POST a message activity, then read the stream until the bot's reply to it comes."""
        if self.stream is None:
            self.stream = Stream()
            answer = await self.call("GET", f"{DL}/conversations/{self.conversation}?watermark={self.watermark}")
            await self.stream.open(answer["streamUrl"])
        self.sent += 1
        posted = await self.call("POST", f"{DL}/conversations/{self.conversation}/activities", {
            "type": "message", "text": f"answer {self.sent}", "from": {"id": f"bench-{self.index}"},
            "channelData": {"clientActivityID": f"c{self.index}-{self.sent}"}})
        answered = time.perf_counter()
        while True:
            found = await self.stream.next_set(self.plan["reply_timeout"])
            # a set of the bot's typing only has no watermark (nothing kept), as Microsoft's service sends it
            self.watermark = found.get("watermark") or self.watermark
            replies = [a for a in found["activities"] if a.get("replyToId") == posted["id"] and a["type"] == "message"]
            if replies:
                self.push_latencies.append(time.perf_counter() - answered)
                if [(r["from"].get("role"), r.get("text")) for r in replies] != [("bot", self.plan["question"])]:
                    raise Failure(f"unexpected reply to {posted['id']}: {replies}")
                return

    async def echo(self) -> None:
        if await self.call("POST", "/echo", {}) != {"ok": True}:
            raise Failure("/echo answered something else")

    async def rw(self) -> None:
        if not (await self.call("POST", "/rw", {"id": self.index})).get("ok"):
            raise Failure("/rw answered something else")


def cpu_seconds(pids: list[int]) -> float | None:
    """CPU seconds (user + system) the processes used so far, from /proc; None where there is no /proc."""
    total = 0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


async def hold_idle(plan: dict) -> dict:
    """Open a stream per conversation in `clients`, each from a fresh streamUrl, read its first frame, hold them
    all for `seconds`; how many opened, and the first few failures."""
    streams, failures = [], []
    gate = asyncio.Semaphore(200)  # connections being opened at once

    async def open_one(spec: dict) -> None:
        async with gate:
            client, stream = Client(plan, spec), Stream()
            try:
                answer = await client.call("GET", f"{DL}/conversations/{spec['conversation']}?watermark=0")
                client.connection.close()
                await stream.open(answer["streamUrl"])
                await stream.next_set(plan["reply_timeout"])
                streams.append(stream)
            except (TimeoutError, Failure, OSError, ValueError) as error:
                failures.append(f"{type(error).__name__}: {error}")
                stream.close()

    began = time.perf_counter()
    await asyncio.gather(*(open_one(spec) for spec in plan["clients"]))
    opened_in = time.perf_counter() - began
    print(json.dumps({"opened": len(streams), "opened_in": opened_in, "failures": failures[:20]}), flush=True)
    await asyncio.sleep(plan["seconds"])  # the caller measures the server meanwhile
    alive = sum(1 for stream in streams if not stream.task.done())
    for stream in streams:
        stream.close()
    return {"opened": len(streams), "alive": alive, "opened_in": opened_in, "failures": failures[:20]}


async def run(plan: dict) -> dict:
    if plan["unit"] == "idle":
        return await hold_idle(plan)
    clients = [Client(plan, spec) for spec in plan["clients"]]
    unit = plan["unit"]
    outcome = {"done": 0, "requests": 0, "server_errors": 0, "failures": [], "latencies": [], "push_latencies": []}

    async def warm_up(client: Client) -> None:
        try:
            await getattr(client, unit)()
        except (TimeoutError, Failure, OSError, ValueError) as error:
            outcome["failures"].append(f"client {client.index} (warm-up): {type(error).__name__}: {error}")

    await asyncio.gather(*(warm_up(client) for client in clients))
    for client in clients:
        client.requests = client.server_errors = 0
        client.push_latencies.clear()
    deadline = time.perf_counter() + plan["seconds"]

    async def loop(client: Client) -> None:
        failures = 0
        while time.perf_counter() < deadline and failures < plan["max_failures"]:
            began = time.perf_counter()
            try:
                await getattr(client, unit)()
            except (TimeoutError, Failure, OSError, ValueError) as error:
                failures += 1
                outcome["failures"].append(f"client {client.index}: {type(error).__name__}: {error}")
                continue
            outcome["done"] += 1
            outcome["latencies"].append(time.perf_counter() - began)

    others = plan.get("other_pids", {})
    other = {name: cpu_seconds(pids) for name, pids in others.items()}
    server, cpu, began = cpu_seconds(plan["server_pids"]), time.process_time(), time.perf_counter()
    await asyncio.gather(*(loop(client) for client in clients))
    outcome["elapsed"] = time.perf_counter() - began
    outcome["cpu"] = time.process_time() - cpu
    after = cpu_seconds(plan["server_pids"])
    outcome["server_cpu"] = None if server is None or after is None else after - server
    outcome["other_cpu"] = {name: None if other[name] is None or (now := cpu_seconds(pids)) is None
                            else now - other[name] for name, pids in others.items()}
    for client in clients:
        outcome["requests"] += client.requests
        outcome["server_errors"] += client.server_errors
        outcome["push_latencies"] += client.push_latencies
        client.connection.close()
        if client.stream is not None:
            client.stream.close()
    outcome["clients"] = [{**client.spec, "watermark": client.watermark, "sent": client.sent} for client in clients]
    outcome["failures"] = outcome["failures"][:50]
    return outcome


if __name__ == "__main__":
    with open(sys.argv[1]) as source:
        print(json.dumps(asyncio.run(run(json.load(source)))))
