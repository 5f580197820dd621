"""The queue page's functions: depth, failed jobs with their error, retry and delete."""

from __future__ import annotations

import pytest

from runtime.jobs import admin, enqueue


def test_failed_jobs_show_their_error_and_can_be_retried_or_deleted(app, jobs):
    with app.app_context():
        enqueue("background_samples.fail", "boom")
        enqueue("job_samples.note", "later", delay=600)
    jobs.drain()
    with app.app_context():
        depth = {row["queue"]: row for row in admin.stats()}
        assert depth["default"]["failed"] == 1 and depth["default"]["scheduled"] == 1
        failed, = admin.failed_jobs()
        assert failed["function"] == "background_samples.fail" and "boom" in failed["error"]
        admin.retry(failed["id"])
        assert {row["queue"]: row for row in admin.stats()}["default"]["waiting"] == 1
    jobs.drain()
    with app.app_context():
        failed, = admin.failed_jobs()
        admin.delete(failed["id"])
        assert admin.failed_jobs() == []
        with pytest.raises(LookupError, match="no job"):
            admin.retry(failed["id"])
