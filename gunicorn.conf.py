"""gunicorn's settings for Arbor's web tier: `.venv/bin/gunicorn 'app:create_app()'` reads this file.

Why threaded workers with many threads: every open webchat holds a Direct Line stream (a WebSocket) for as
long as its page is open, and nearly all of them are idle. A sync worker would be held by one stream. gevent
holds a stream for less memory, but Arbor's database drivers wait in C (SQLite's busy handler, libpq):
under gevent such a wait stops every other request of the process, and measured with 100 conversations a
gevent worker served 2-7 times fewer turns than a threaded one (docs/configuration.md, "Running at scale",
and tests/bench/test_bench_stream.py give the figures). A thread per stream (and simple-websocket's reader
thread beside it) is idle memory, mostly untouched stack, and waits cost nothing while nothing happens.

Each setting can be changed from the environment (or with gunicorn's own flags, which win over this file).
"""

import multiprocessing
import os
import threading

bind = os.environ.get("ARBOR_BIND", "0.0.0.0:8000")
# One process per core: a turn is CPU work (the engine, JSON, the database driver) between waits.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
# Threads per process: the open streams it can hold, plus the requests it serves at once.
threads = int(os.environ.get("ARBOR_THREADS", 2_000))
worker_connections = threads + 1_000
# Polling clients and the designer reuse their connection between requests.
keepalive = 75
# A worker that does not report in this long is restarted; no turn takes more than a second of CPU (the
# render budget), so 30 s means something is stuck.
timeout = 30
graceful_timeout = 20


def post_fork(server, worker) -> None:
    """1 MB thread stacks rather than 8: a stream's threads only wait, and thousands share the process's
    address space (a stack's memory is only what it touches either way)."""
    threading.stack_size(1024 * 1024)
