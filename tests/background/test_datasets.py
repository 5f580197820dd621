"""Datasets: the three feeds (pull on a schedule, push, pull on change), their bad input, and the step's lookup."""

from __future__ import annotations

import json
import uuid

import pytest
from jobs import Jobs
from rq.job import JobStatus

from app import create_app
from runtime.datasets import pull, query, store
from runtime.extensions import db
from runtime.jobs import connection, periodic, queue
from runtime.steps.base import Input
from runtime.store.bots import import_bot
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

BRANCHES = [
    {"id": "prg-1", "name": "Prague Old Town", "gps": {"lat": 50.0875, "lng": 14.4213}, "kinds": ["atm", "branch"]},
    {"id": "prg-2", "name": "Prague Karlin", "gps": {"lat": 50.0925, "lng": 14.4506}, "kinds": ["atm"]},
    {"id": "brn-1", "name": "Brno Centre", "gps": {"lat": 49.1951, "lng": 16.6068}, "kinds": ["atm", "branch"]},
]
MAPPING = {"key": "id", "latitude": "gps.lat", "longitude": "gps.lng", "tags": "kinds", "fields": {"name": "name"}}
BOT = {"format": 1, "id": "finder", "name": "Finder", "start": "s", "dialogs": [{"id": "s", "title": "S", "steps": [
    {"id": "q", "type": "dataset-query", "dataset": "branches", "tags": ["atm"],
     "near": {"storage": "here", "radiusKm": 10}, "limit": 5, "storage": "found"},
    {"id": "c", "type": "carousel", "items": "found", "card": {"title": "{{ item.name }} ({{ item.distanceKm }} km)"},
     "empty": "Nothing near you."}]}]}


@pytest.fixture
def finder(app):
    with app.app_context():
        import_bot(BOT, publish=True)


def define(app, **options):
    with app.app_context():
        return store.define("finder", "branches", **options).id


def names(items) -> list[str]:
    return [item["name"] for item in items]


def test_a_periodic_pull_maps_the_source_and_runs_again_after_its_interval(app, finder, jobs, httpserver):
    httpserver.expect_request("/branches").respond_with_json({"data": BRANCHES})
    define(app, source_url=httpserver.url_for("/branches"), mapping={**MAPPING, "rows": "data"},
           interval_seconds=600)
    assert "runtime.datasets.pull.pull_due" in periodic.queue_due(app)
    with app.app_context():
        assert pull.pull_due() == 1
    jobs.drain()
    with app.app_context():
        found = query.find("finder", "branches", tags=["atm"], near=(50.0880, 14.4200), radius_km=10)
        assert names(found) == ["Prague Old Town", "Prague Karlin"]
        assert found[0]["distanceKm"] < found[1]["distanceKm"] < 10
        assert pull.pull_due() == 0  # not again before the interval
        shown = store.describe(store.get("finder", "branches"))
    assert shown["rows"] == 3 and shown["error"] is None and shown["updatedAt"]


@pytest.mark.parametrize("answer, error", [
    ({"response_data": "<!DOCTYPE html><html><body>Log in</body></html>", "content_type": "text/html"},
     "an HTML page"),
    ({"response_data": json.dumps(BRANCHES)[:150], "content_type": "application/json"}, "ends too early"),
    ({"response_data": json.dumps([{"name": "no key"}]), "content_type": "application/json"}, "row 0: it has no key"),
    ({"response_data": "", "status": 500}, "answered 500"),
])
def test_a_bad_source_keeps_the_old_rows_and_says_why(app, finder, httpserver, answer, error):
    httpserver.expect_request("/good").respond_with_json(BRANCHES)
    httpserver.expect_request("/bad").respond_with_data(**answer)
    dataset_id = define(app, source_url=httpserver.url_for("/good"), mapping=MAPPING)
    with app.app_context():
        assert pull.pull(dataset_id) == "3 rows"
        store.define("finder", "branches", source_url=httpserver.url_for("/bad"), mapping=MAPPING)
        assert pull.pull(dataset_id) == "failed"
        shown = store.describe(store.get("finder", "branches"))
    assert shown["rows"] == 3 and error in shown["error"]


def test_a_source_with_too_many_rows_is_refused(app, finder, httpserver, monkeypatch):
    monkeypatch.setattr(store, "MAX_ROWS", 2)  # two million rows, scaled down: the same rule
    httpserver.expect_request("/many").respond_with_json(BRANCHES)
    dataset_id = define(app, source_url=httpserver.url_for("/many"), mapping=MAPPING)
    with app.app_context():
        assert pull.pull(dataset_id) == "failed"
        assert "3 records; a dataset holds at most 2" in store.get("finder", "branches").error


def test_pull_on_change_pulls_now_in_the_background(app, finder, jobs, httpserver):
    httpserver.expect_request("/branches").respond_with_json(BRANCHES)
    define(app, source_url=httpserver.url_for("/branches"), mapping=MAPPING)
    with app.app_context():
        pull.request_pull("finder", "branches")
    assert jobs.drain() == 1
    with app.app_context():
        assert store.get("finder", "branches").row_count == 3


def test_push_replaces_and_patch_upserts_and_deletes_by_key(app, finder):
    define(app)
    with app.app_context():
        dataset = store.get("finder", "branches")
        store.replace(dataset, store.parse_rows([
            {"key": "a", "fields": {"name": "A"}, "tags": ["atm"], "latitude": 50, "longitude": 14},
            {"key": "b", "fields": {"name": "B"}}]))
        store.upsert(dataset, store.parse_rows([{"key": "b", "fields": {"name": "B2"}}, {"key": "c", "fields": {}}]),
                     ["a"])
        assert [(r["key"], r.get("name")) for r in store.rows_of(dataset)] == [("b", "B2"), ("c", None)]
        assert dataset.row_count == 2


@pytest.mark.parametrize("rows, error", [
    ([{"fields": {}}], "row 0: it has no key"),
    ([{"key": "a", "latitude": 91, "longitude": 14}], "latitude 91 is out of range"),
    ([{"key": "a", "latitude": 50, "longitude": -181}], "longitude -181 is out of range"),
    ([{"key": "a", "latitude": 50}], "only one of latitude and longitude"),
    ([{"key": "a"}, {"key": "a"}], "appears twice"),
])
def test_a_bad_push_changes_nothing_and_names_the_rows(app, finder, rows, error):
    define(app)
    with app.app_context():
        dataset = store.get("finder", "branches")
        store.replace(dataset, store.parse_rows([{"key": "kept"}]))
        with pytest.raises(store.DatasetError, match=error):
            store.replace(dataset, store.parse_rows(rows))
        assert [r["key"] for r in store.rows_of(dataset)] == ["kept"]


def test_the_step_looks_rows_up_for_a_carousel(app, finder):
    define(app)
    with app.app_context():
        dataset = store.get("finder", "branches")
        store.replace(dataset, store.parse_rows(pull.map_records(BRANCHES, MAPPING)))
        conversation, _ = start_conversation("finder", "u1", "test", data={"here": {"latitude": 49.19,
                                                                                     "longitude": 16.6}})
        cards = [a for a in transcript(conversation.id) if a.get("attachments")]
        assert [c["content"]["title"] for c in cards[0]["attachments"]] == ["Brno Centre (0.752 km)"]
        far, _ = start_conversation("finder", "u2", "test", data={"here": {"lat": 40.0, "lon": -3.7}})
        assert transcript(far.id)[-1]["text"] == "Nothing near you."


def test_sorting_by_a_field_and_the_nearest_without_a_radius(app, finder):
    define(app)
    with app.app_context():
        store.replace(store.get("finder", "branches"), store.parse_rows(pull.map_records(BRANCHES, MAPPING)))
        nearest = query.find("finder", "branches", near=(49.0, 16.0), limit=2)
        assert names(nearest) == ["Brno Centre", "Prague Karlin"]
        by_name = query.find("finder", "branches", tags=["branch"], sort_by="field", field="name", order="desc")
        assert names(by_name) == ["Prague Old Town", "Brno Centre"]


def test_a_missing_dataset_gives_an_empty_list_and_a_logged_error(app, finder, caplog):
    with app.app_context():
        conversation, _ = start_conversation("finder", "u1", "test", data={"here": {"latitude": 50, "longitude": 14}})
        handle(conversation.id, Input.message("hi"))
    assert "has no dataset 'branches'" in caplog.text


@pytest.mark.parametrize("app_config", [{}])  # no allow-list
@pytest.mark.parametrize("source, reason", [
    ("http://10.0.0.5/branches.json", "10.0.0.5: a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254: a link-local (cloud metadata) address"),
    (None, "a loopback address"),  # the test server itself, which the other tests allow-list
])
def test_a_source_on_our_own_network_is_refused_and_the_reason_kept(app, finder, httpserver, source, reason):
    httpserver.expect_request("/branches").respond_with_json(BRANCHES)
    dataset_id = define(app, source_url=source or httpserver.url_for("/branches"), mapping=MAPPING)
    with app.app_context():
        assert pull.pull(dataset_id) == "failed"
        error = store.get("finder", "branches").error
    assert reason in error and "OUTBOUND_ALLOW_HOSTS" in error and httpserver.log == []


def test_a_source_larger_than_the_limit_is_refused(app, finder, httpserver, monkeypatch):
    monkeypatch.setattr(pull, "MAX_BYTES", 300)  # 512 MB, scaled down: the same rule
    httpserver.expect_request("/big").respond_with_json(BRANCHES * 5)
    dataset_id = define(app, source_url=httpserver.url_for("/big"), mapping=MAPPING)
    with app.app_context():
        assert pull.pull(dataset_id) == "failed"
        assert "at most 300 bytes is read" in store.get("finder", "branches").error


def test_a_big_csv_source_is_read_from_the_download(app, finder, httpserver):
    lines = ["id,name,lat,lon,tags"] + [f"{i},Branch {i},50.0,14.4,atm" for i in range(20000)]
    httpserver.expect_request("/branches.csv").respond_with_data("\n".join(lines), content_type="text/csv")
    mapping = {"key": "id", "latitude": "lat", "longitude": "lon", "tags": "tags", "fields": {"name": "name"}}
    dataset_id = define(app, source_url=httpserver.url_for("/branches.csv"), mapping=mapping)
    with app.app_context():
        assert pull.pull(dataset_id) == "20000 rows"
        assert query.find("finder", "branches", tags=["atm"], limit=1)[0]["name"].startswith("Branch")


def test_two_apps_on_one_redis_each_pull_their_own_dataset_of_the_same_id(app, finder, app_config, clock,
                                                                           httpserver, tmp_path):
    """Dataset ids are per database: two Arbors sharing a Redis (each with its ARBOR_REDIS_PREFIX) both pulling
    their dataset 1 get two pulls, each against its own app's dataset and source; the first one done leaves the
    other's job waiting as it was (one shared job would be marked done, and expire with its result, unrun)."""
    other = create_app({"TESTING": True, "ARBOR_DATA": str(tmp_path / "other"), "SECRET_KEY": "test",
                        "REDIS_URL": app.config["REDIS_URL"], "ARBOR_REDIS_PREFIX": f"t{uuid.uuid4().hex[:12]}:",
                        **app_config})
    try:
        with other.app_context():
            import_bot(BOT, publish=True)
        for made, path, rows in ((app, "/ours", BRANCHES[:1]), (other, "/theirs", BRANCHES[1:])):
            httpserver.expect_request(path).respond_with_json(rows)
            assert define(made, source_url=httpserver.url_for(path), mapping=MAPPING) == 1
        for made in (app, other):
            with made.app_context():
                pull.request_pull("finder", "branches")
        assert Jobs(app, clock).drain() == 1
        (waiting,) = queue("datasets", app=other).get_jobs()
        assert waiting.get_status() == JobStatus.QUEUED and connection(app).ttl(waiting.key) == -1
        assert Jobs(other, clock).drain() == 1
        assert sorted(request.path for request, _ in httpserver.log) == ["/ours", "/theirs"]
        for made, rows in ((app, BRANCHES[:1]), (other, BRANCHES[1:])):
            with made.app_context():
                assert sorted(names(query.find("finder", "branches"))) == sorted(names(rows))
    finally:
        with other.app_context():
            db.engine.dispose()
