"""Background work on RQ: the Redis connection, the queues, the worker, and the jobs' app context.

Anything that must not hold a web request (timers, async integration calls, e-mails, webhook deliveries,
dataset pulls) is enqueued here by dotted path with primitive arguments (DESIGN §9).
"""

from runtime.jobs.context import in_app
from runtime.jobs.queue import app_job_id, connection, enqueue, init_app, limits_storage, queue, queue_names

__all__ = ["app_job_id", "connection", "enqueue", "in_app", "init_app", "limits_storage", "queue", "queue_names"]
