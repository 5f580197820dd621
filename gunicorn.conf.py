"""gunicorn's settings for Arbor's web tier: `.venv/bin/gunicorn 'app:create_app()'` reads this file.

Why gevent workers: every open webchat holds a Direct Line stream (a WebSocket) for as long as its page is
open, and nearly all of them are idle. A sync worker is held by one stream, a gthread worker spends an OS
thread per stream and simple-websocket's reader thread beside it; a gevent worker holds each as two
greenlets (some kilobytes), so one process keeps thousands of idle streams open and still answers turns.
docs/configuration.md ("Running at scale") gives the figures (tests/bench/test_bench_stream.py).

Each setting can be changed from the environment (or with gunicorn's own flags, which win over this file).
"""

import multiprocessing
import os

bind = os.environ.get("ARBOR_BIND", "0.0.0.0:8000")
# One process per core: a turn is CPU work (the engine, JSON, the database driver) between waits.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gevent"
# Open connections per process: idle streams mostly. Keep the open-files limit (ulimit -n) above it.
worker_connections = int(os.environ.get("ARBOR_WORKER_CONNECTIONS", 10_000))
# Polling clients and the designer reuse their connection between requests.
keepalive = 75
# A worker whose event loop is blocked this long is restarted; no turn takes more than a second of CPU
# (the render budget), so 30 s means something is stuck.
timeout = 30
graceful_timeout = 20
