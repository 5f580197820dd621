"""The Direct Line benchmark's load generator: a process of its own, so its cost is not counted as the server's.

    python tests/bench/loadgen.py PLAN.json  ->  prints one JSON object (the outcome)

One asyncio loop drives every client, each over its own HTTP/1.1 connection with a minimal client
(an asyncio protocol: a request is one write; an answer is its head and a Content-Length body), so a
request costs this process a fraction of what a `requests` call in a thread costs. Arbor and both
baselines are driven by this same code. A connection is reopened when the server closes it (gunicorn's
sync workers close after every answer) and kept when the server keeps it alive.

The plan (JSON): `base` (http://127.0.0.1:PORT), `unit` ("turn", "echo" or "rw"), `seconds`,
`clients` (one dict per client: `index`, and for turns `conversation`, `token`, `watermark`, `sent`),
`poll_pause`, `polls_per_turn`, `max_failures`, `question` (the bot's reply to every answer).
`server_pids` (the gunicorn workers, whose CPU time is read from /proc). Every client does one unit
untimed (warm-up), then all loop units until `seconds` have passed; the unit under way then finishes
and counts. The outcome: `done`, `requests`, `server_errors`, `failures` (the first few), `latencies`
(seconds, per unit), `elapsed`, `cpu` (this process's CPU seconds over the window), `server_cpu` (the
workers', or null), `clients` (the specs with each conversation's watermark and messages sent so far).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from urllib.parse import urlsplit

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


async def run(plan: dict) -> dict:
    clients = [Client(plan, spec) for spec in plan["clients"]]
    unit = plan["unit"]
    outcome = {"done": 0, "requests": 0, "server_errors": 0, "failures": [], "latencies": []}

    async def warm_up(client: Client) -> None:
        try:
            await getattr(client, unit)()
        except (Failure, OSError, ValueError) as error:
            outcome["failures"].append(f"client {client.index} (warm-up): {type(error).__name__}: {error}")

    await asyncio.gather(*(warm_up(client) for client in clients))
    for client in clients:
        client.requests = client.server_errors = 0
    deadline = time.perf_counter() + plan["seconds"]

    async def loop(client: Client) -> None:
        failures = 0
        while time.perf_counter() < deadline and failures < plan["max_failures"]:
            began = time.perf_counter()
            try:
                await getattr(client, unit)()
            except (Failure, OSError, ValueError) as error:
                failures += 1
                outcome["failures"].append(f"client {client.index}: {type(error).__name__}: {error}")
                continue
            outcome["done"] += 1
            outcome["latencies"].append(time.perf_counter() - began)

    server, cpu, began = cpu_seconds(plan["server_pids"]), time.process_time(), time.perf_counter()
    await asyncio.gather(*(loop(client) for client in clients))
    outcome["elapsed"] = time.perf_counter() - began
    outcome["cpu"] = time.process_time() - cpu
    after = cpu_seconds(plan["server_pids"])
    outcome["server_cpu"] = None if server is None or after is None else after - server
    for client in clients:
        outcome["requests"] += client.requests
        outcome["server_errors"] += client.server_errors
        client.connection.close()
    outcome["clients"] = [{**client.spec, "watermark": client.watermark, "sent": client.sent} for client in clients]
    outcome["failures"] = outcome["failures"][:50]
    return outcome


if __name__ == "__main__":
    with open(sys.argv[1]) as source:
        print(json.dumps(asyncio.run(run(json.load(source)))))
