"""Redis killed (SIGKILL: what it had not saved is gone) while visitors chat, and started again: the embedded
Redis `python app.py` runs (runtime/jobs/embedded.py) and a redis-server of the test's own on a free loopback
port, as REDIS_URL names one (never the machine's 6379).

Visitors talk to the app served on loopback before, while and after Redis is away; then a worker's next hours run
on the test's clock (workers.restart). Turns must all be taken, once; their webhooks and e-mails must all go out,
once (tests/faults/owed.py counts them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from owed import count_effects, set_up
from visitor import Visitor
from workers import restart, until

from runtime.jobs import embedded


class RedisProcess:
    """A redis-server the test kills and starts again with the same command (and so the same address)."""

    def __init__(self, command: list[str], url: str, process: subprocess.Popen):
        self.command, self.url, self.process = command, url, process

    def answers(self) -> bool:
        with contextlib.suppress(redis.RedisError), redis.Redis.from_url(self.url, socket_timeout=5) as client:
            return client.ping()
        return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until("Redis to answer again", self.answers)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["embedded", "REDIS_URL"])
def redis_process(request, tmp_path) -> Iterator[RedisProcess]:
    if request.param == "embedded":
        server = embedded.start(tmp_path / "redis-data")
        made = RedisProcess([embedded.REDIS_SERVER, str(server.socket_dir / "redis.config")], server.url,
                            server.process)
    else:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.skip("redis-server is not installed (Debian's redis-server package has it)")
        port, folder = free_port(), tmp_path / "redis-own"
        folder.mkdir()
        command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
                   "--appendonly", "no"]
        made = RedisProcess(command, f"redis://127.0.0.1:{port}/0",
                            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        until("the test's redis-server to answer", made.answers)
    yield made
    with contextlib.suppress(ProcessLookupError):
        os.kill(made.process.pid, signal.SIGKILL)
    made.process.wait(30)
    if request.param == "embedded":
        shutil.rmtree(Path(made.command[1]).parent, ignore_errors=True)


@pytest.fixture
def app_config(redis_process):
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1", "REDIS_URL": redis_process.url}


def test_redis_killed_and_started_again(app, served, redis_process, outside, smtp, jobs, clock, tally, request):
    count = tally(f"Redis killed and started again ({request.node.callspec.id})")
    controller, inbox = smtp
    secret = set_up(app, outside, controller.port)
    visitors = [Visitor(served, secret, f"dl_redis_{n}") for n in range(3)]
    for visitor in visitors:
        visitor.say(f"{visitor.user} before")
    redis_process.kill()
    for visitor in visitors:
        visitor.say(f"{visitor.user} while Redis is away")
    redis_process.start()
    for visitor in visitors:
        visitor.say(f"{visitor.user} after")
    for visitor in visitors:  # read before the clock moves on: the visitors' tokens expire
        visitor.count_turns(count)
    restart(app, jobs, clock)
    count.note = count_effects(count, [text for visitor in visitors for text in visitor.sent], outside, inbox)
    refused = sum(sum(visitor.refusals.values()) for visitor in visitors)
    count.note += f"; {refused} sends refused and sent again" if refused else ""
    assert count.clean(), count
