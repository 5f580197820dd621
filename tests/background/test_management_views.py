"""The datasets' and webhooks' management API over HTTP, with a function key: good and bad requests."""

from __future__ import annotations

import pytest

from runtime.extensions import db
from runtime.management.keys import create_key
from runtime.store.bots import import_bot
from runtime.webhooks.models import WebhookDelivery

BASE = "/b/finder/api/management"


@pytest.fixture
def api(app):
    with app.app_context():
        import_bot({"format": 1, "id": "finder", "name": "Finder", "start": "s", "dialogs": [
            {"id": "s", "title": "S", "steps": [{"id": "m", "type": "message", "text": "hi"}]}]}, publish=True)
        _, key = create_key("finder", "tests")
    client = app.test_client()
    client.environ_base["HTTP_X_FUNCTIONS_KEY"] = key
    return client


def test_without_a_key_nothing_is_told(app, api):
    bare = app.test_client()
    assert bare.get(f"{BASE}/datasets").status_code == 401
    assert bare.put(f"{BASE}/datasets/branches", json=[]).status_code == 401
    assert bare.get(f"{BASE}/webhooks").status_code == 401


def test_put_replaces_patch_upserts_and_deletes(api):
    put = api.put(f"{BASE}/datasets/branches", json=[{"key": "a", "fields": {"n": 1}, "latitude": 50, "longitude": 14},
                                                    {"key": "b"}])
    assert put.status_code == 200 and put.json["rows"] == 2
    patched = api.patch(f"{BASE}/datasets/branches", json={"upsert": [{"key": "c"}], "delete": ["a"]})
    assert patched.status_code == 200 and patched.json["rows"] == 2
    assert api.get(f"{BASE}/datasets").json["datasets"][0]["name"] == "branches"


@pytest.mark.parametrize("body, status, words", [
    ([{"fields": {}}], 422, "row 0: it has no key"),
    ([{"key": "a", "latitude": 123, "longitude": 14}], 422, "latitude 123 is out of range"),
    ({"rows": "nope"}, 400, "JSON list of rows"),
    ([{"key": "a", "name": "Main\x00 street"}], 400, "NUL characters"),  # PostgreSQL keeps no NUL
])
def test_a_bad_push_gets_a_clear_4xx_and_changes_nothing(api, body, status, words):
    api.put(f"{BASE}/datasets/branches", json=[{"key": "kept"}])
    answer = api.put(f"{BASE}/datasets/branches", json=body)
    assert answer.status_code == status and words in answer.json["error"]["message"]
    assert api.get(f"{BASE}/datasets/branches").json["rows"] == 1


def test_not_json_unknown_dataset_and_no_source(api):
    assert api.put(f"{BASE}/datasets/branches", data="rows", content_type="text/plain").status_code == 400
    assert api.put(f"{BASE}/datasets/branches", data="[" * 20_000, content_type="application/json").status_code == 400
    assert api.patch(f"{BASE}/datasets/nope", json={"upsert": []}).status_code == 404
    api.put(f"{BASE}/datasets/branches", json=[])
    answer = api.post(f"{BASE}/datasets/branches/changed")
    assert answer.status_code == 409 and "no source" in answer.json["error"]["message"]


def test_pull_on_change_is_queued(api, app, jobs, httpserver):
    httpserver.expect_request("/src").respond_with_json([{"id": 1, "name": "One"}])
    from runtime.datasets import store

    with app.app_context():
        store.define("finder", "branches", source_url=httpserver.url_for("/src"), mapping={"key": "id"})
    assert api.post(f"{BASE}/datasets/branches/changed").status_code == 202
    jobs.drain()
    assert api.get(f"{BASE}/datasets/branches").json["rows"] == 1


def test_webhook_subscriptions_over_http(api, receiver):
    made = api.post(f"{BASE}/webhooks", json={"url": receiver.url, "events": ["message.sent"]})
    assert made.status_code == 201 and made.json["status"] == "active" and made.json["secret"].startswith("whsec_")
    sub = made.json["id"]
    listed = api.get(f"{BASE}/webhooks").json["subscriptions"]
    assert [s["id"] for s in listed] == [sub] and "secret" not in listed[0]
    assert api.patch(f"{BASE}/webhooks/{sub}", json={"events": ["handover"]}).json["events"] == ["handover"]
    assert api.post(f"{BASE}/webhooks/{sub}/verify").json["status"] == "active"
    assert api.post(f"{BASE}/webhooks/{sub}/rotate-secret", json={}).json["secret"].startswith("whsec_")
    assert api.get(f"{BASE}/webhooks/{sub}/deliveries").json == {"deliveries": []}
    assert api.delete(f"{BASE}/webhooks/{sub}").status_code == 204
    assert api.get(f"{BASE}/webhooks/{sub}").status_code == 404


@pytest.mark.parametrize("body, words", [
    ({"url": "ftp://x", "events": ["message.sent"]}, "not an http(s) address"),
    ({"url": "http://127.0.0.1:1/", "events": ["nope"]}, "Unknown event"),
    ({"url": "http://127.0.0.1:1/", "events": ["message.sent"], "secret": "plain"}, "whsec_"),
])
def test_a_bad_subscription_gets_a_422_saying_what_to_change(api, body, words):
    answer = api.post(f"{BASE}/webhooks", json=body)
    assert answer.status_code == 422 and words in answer.json["error"]["message"]


def test_a_push_in_the_sources_shape_goes_through_the_mapping(app, api):
    """A pulled dataset takes the records its source serves, pushed, through the same mapping (it was a 422
    "row 0: it has no key")."""
    from runtime.datasets import store

    mapping = {"key": "id", "latitude": "gps.lat", "longitude": "gps.lng", "tags": "kinds", "fields": {"name": "name"},
               "rows": "data"}
    with app.app_context():
        store.define("finder", "branches", source_url="https://source.example/branches", mapping=mapping)
    records = [{"id": 7, "name": "Old Town", "gps": {"lat": 50.087, "lng": 14.421}, "kinds": ["atm", "branch"]},
               {"id": 8, "name": "Karlin", "gps": {"lat": 50.092, "lng": 14.45}, "kinds": "atm"}]
    put = api.put(f"{BASE}/datasets/branches", json={"data": records})  # the source's whole document
    assert put.status_code == 200 and put.json["rows"] == 2
    assert api.put(f"{BASE}/datasets/branches", json=records).json["rows"] == 2  # or just its records
    patched = api.patch(f"{BASE}/datasets/branches", json={"upsert": [{"id": 9, "name": "Smichov", "kinds": []}],
                                                           "delete": ["7"]})
    assert patched.status_code == 200 and patched.json["rows"] == 2
    with app.app_context():
        rows = store.rows_of(store.get("finder", "branches"))
    assert rows == [{"name": "Karlin", "key": "8", "tags": ["atm"], "latitude": 50.092, "longitude": 14.45},
                    {"name": "Smichov", "key": "9", "tags": []}]
    wrong = api.put(f"{BASE}/datasets/branches", json=[{"name": "no id"}])
    assert wrong.status_code == 422 and "mapping (the key is at 'id')" in wrong.json["error"]["message"]
    assert "row 0: it has no key" in wrong.json["error"]["message"]


def test_a_delivery_counted_past_32_bits_is_redelivered(app, api, receiver):
    """Deliveries are counted in 64 bits: a busy bot's pass 2**31 in its life, and are still found by their id;
    an id no 64-bit column holds is no route (404), never the database's error."""
    sub = api.post(f"{BASE}/webhooks", json={"url": receiver.url, "events": ["message.sent"]}).json["id"]
    assert api.post(f"{BASE}/webhooks/{sub}/verify").json["status"] == "active"
    far = 2**31 + 7
    with app.app_context():
        db.session.add(WebhookDelivery(id=far, message_id="msg_far", subscription_id=sub, conversation_id="c1",
                                       seq=1, event="message.sent", body="{}", status="failed"))
        db.session.commit()
    answer = api.post(f"{BASE}/webhooks/{sub}/deliveries/{far}/redeliver")
    assert answer.status_code == 200 and answer.json["id"] == far and answer.json["status"] == "pending"
    assert api.post(f"{BASE}/webhooks/{sub}/deliveries/{2**63}/redeliver").status_code == 404
