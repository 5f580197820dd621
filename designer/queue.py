"""The queue page (admins only): depth of each queue, failed jobs with their error, retry and delete.
The numbers and actions are `runtime.jobs.admin`'s; the failed-jobs partial polls itself every few seconds."""

from __future__ import annotations

from flask import render_template, request

from designer import bp
from designer.accounts import admin_required
from runtime.jobs import admin


def _page(error: str | None = None, status: int = 200):
    template = "designer/partials/_queue.html" if request.htmx else "designer/queue.html"
    return render_template(template, stats=admin.stats(), failed=admin.failed_jobs(), error=error), status


@bp.get("/queue")
@admin_required
def queue_page():
    return _page()


@bp.post("/queue/jobs/<job_id>/<action>")
@admin_required
def queue_job(job_id: str, action: str):
    if action not in ("retry", "delete"):
        return _page(f"Unknown action '{action[:40]}': retry or delete.", 404)
    try:
        admin.retry(job_id) if action == "retry" else admin.delete(job_id)
    except LookupError as e:
        return _page(str(e), 404)
    return _page()
