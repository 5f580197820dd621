"""The designer's background pages (issue 7) through the Flask test client, on real Redis and real local
servers: the queue page with its failed jobs, a bot's webhooks (handshake, state, delivery log, redeliver,
secrets shown once) and datasets (rows a page at a time, errors, pull now), and who may do what."""

from __future__ import annotations

import re

import pytest
from designer_client import Designer

from runtime.datasets import store
from runtime.extensions import db
from runtime.jobs import enqueue
from runtime.steps.base import Input
from runtime.store import bot_access
from runtime.store.bots import import_bot
from runtime.turns.turn import handle, start_conversation

NAME = "<script>alert(1)</script> Hooks"
BOT = {"format": 1, "id": "hooked", "name": NAME, "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [
        {"id": "q", "type": "question", "text": "Your name?", "storage": "name"},
        {"id": "m", "type": "message", "text": "Hi {{ name }}!"}]}]}
BRANCHES = [{"id": f"b{i:02}", "name": f"Branch {i}", "gps": {"lat": 50.0 + i / 100, "lng": 14.4}, "kinds": ["atm"]}
            for i in range(25)]
BRANCHES[0]["name"] = "<script>alert(2)</script>"
MAPPING = '{"key": "id", "latitude": "gps.lat", "longitude": "gps.lng", "tags": "kinds", "fields": {"name": "name"}}'


@pytest.fixture
def app_config():
    """The receivers and sources of these tests listen on loopback, which outbound calls refuse unless allowed."""
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}


@pytest.fixture
def bot(app):
    with app.app_context():
        import_bot(BOT, publish=True)
        db.session.remove()


@pytest.fixture
def admin(app, client) -> Designer:
    return Designer(app, client).sign_in()


@pytest.fixture
def editor(app, bot) -> Designer:
    signed_in = Designer(app, app.test_client()).sign_in("editor@example.com", role="editor")
    with app.app_context():
        bot_access.grant("hooked", "editor@example.com")  # a bot imported outside the designer is for admins
        db.session.remove()
    return signed_in



def chat(app, text: str = "Eva") -> None:
    with app.app_context():
        conversation, _ = start_conversation("hooked", "u1", "webchat")
        handle(conversation.id, Input.message(text))
        db.session.remove()


def subscribe(designer: Designer, url: str, *events: str):
    designer.csrf("/designer/bots/hooked/webhooks")
    return designer.post("/designer/bots/hooked/webhooks", {"url": url, "events": list(events) or ["message.sent"]})


def statuses(page: str) -> list[str]:
    return re.findall(r'data-testid="subscription" data-status="(\w+)"', page)


# --- the queue page ------------------------------------------------------------------------------

def test_the_queue_page_shows_a_failed_job_with_its_error_and_retries_and_deletes_it(app, admin, jobs):
    with app.app_context():
        enqueue("job_samples.note", 5)  # an int where text is needed: the job fails with a TypeError
        enqueue("job_samples.note", "later", delay=600)
    jobs.drain()
    page = admin.client.get("/designer/queue")
    assert page.status_code == 200 and 'hx-trigger="every 5s [' in page.text
    assert re.search(r'data-queue="default"><td class="mono">default</td><td>0</td><td>0</td><td>1</td><td>1</td>',
                     page.text)
    error = re.search(r'data-testid="job-error">(.*?)</span>', page.text).group(1)
    assert error.startswith("TypeError") and "Traceback" not in error  # the trace is folded under Details
    job_id = re.search(r'data-testid="failed-job" data-job="([^"]+)"', page.text).group(1)
    headers = {"HX-Request": "true", "X-CSRFToken": admin.token}
    retried = admin.client.post(f"/designer/queue/jobs/{job_id}/retry", headers=headers)
    assert retried.status_code == 200 and "<html" not in retried.text and "No failed jobs." in retried.text
    assert '<td class="mono">default</td><td>1</td>' in retried.text  # waiting again
    jobs.drain()
    polled = admin.client.get("/designer/queue", headers={"HX-Request": "true"})
    assert "<html" not in polled.text and f'data-job="{job_id}"' in polled.text  # it failed again
    deleted = admin.client.post(f"/designer/queue/jobs/{job_id}/delete", headers=headers)
    assert "No failed jobs." in deleted.text
    again = admin.client.post(f"/designer/queue/jobs/{job_id}/retry", headers=headers)
    assert again.status_code == 404 and "no job" in again.text


def test_the_queue_page_is_for_admins_only(admin, editor):
    assert '>Queue</a>' in admin.client.get("/designer/").text
    assert '>Queue</a>' not in editor.client.get("/designer/").text
    assert editor.client.get("/designer/queue").status_code == 403
    editor.csrf("/designer/")
    assert editor.client.post("/designer/queue/jobs/x/delete",
                              headers={"HX-Request": "true", "X-CSRFToken": editor.token}).status_code == 403


# --- webhooks ------------------------------------------------------------------------------------

def test_a_subscription_passes_the_handshake_and_its_secret_is_shown_once(app, admin, bot, jobs, receiver):
    made = subscribe(admin, receiver.url, "message.received", "message.sent")
    assert made.status_code == 201 and "the handshake passed" in made.text
    secret, token = re.findall(r'data-testid="shown-once">([^<]+)</pre>', made.text)
    assert secret.startswith("whsec_")
    assert "&lt;script&gt;alert(1)" in made.text and "<script>alert(1)" not in made.text
    page = admin.client.get("/designer/bots/hooked/webhooks")
    assert statuses(page.text) == ["active"] and secret not in page.text and token not in page.text
    rotated = admin.post(re.search(r'action="(/designer/bots/hooked/webhooks/sub_\w+/rotate)"', page.text).group(1))
    new_secret = re.search(r'data-testid="shown-once">([^<]+)</pre>', rotated.text).group(1)
    assert new_secret.startswith("whsec_") and new_secret != secret
    assert new_secret not in admin.client.get("/designer/bots/hooked/webhooks").text
    chat(app)
    jobs.drain()
    assert receiver.events == ["message.sent", "message.received", "message.sent"]
    log = admin.client.get("/designer/bots/hooked/webhooks").text
    assert log.count('data-testid="delivery" data-status="delivered"') == 3 and "3 delivered" in log


def test_a_failed_handshake_is_shown_and_editing_reverifies(admin, bot, receiver):
    receiver.handshake = 500
    made = subscribe(admin, receiver.url)
    assert made.status_code == 201 and "the handshake failed" in made.text
    assert "answered 500" in re.search(r'data-testid="handshake-failure">(.*?)</p>', made.text).group(1)
    page = admin.client.get("/designer/bots/hooked/webhooks").text
    assert statuses(page) == ["unverified"] and "answered 500" in page
    receiver.handshake = "echo"
    edit = re.search(r'action="(/designer/bots/hooked/webhooks/sub_\w+/edit)"', page).group(1)
    saved = admin.post(edit, {"url": receiver.url, "events": ["message.sent", "handover"], "custom": "close-chat"},
                       follow_redirects=True)
    assert statuses(saved.text) == ["active"] and "Saved. The subscription is active." in saved.text
    assert "event:close-chat" in saved.text and 'value="close-chat"' in saved.text


def test_bad_input_is_refused_with_the_reason_and_kept_in_the_form(admin, bot):
    refused = subscribe(admin, "ftp://example.com/x", "message.sent")
    assert refused.status_code == 422 and 'data-testid="webhook-error"' in refused.text
    assert 'value="ftp://example.com/x"' in refused.text and statuses(refused.text) == []
    no_events = admin.post("/designer/bots/hooked/webhooks", {"url": "http://127.0.0.1:9/hook"})
    assert no_events.status_code == 422 and "Pick at least one event" in no_events.text


def test_a_gone_receiver_makes_it_inactive_and_an_admin_redelivers_after_reverifying(app, admin, editor, bot, jobs,
                                                                                      receiver):
    subscribe(admin, receiver.url, "message.received")
    receiver.answers = [(410, {})]
    chat(app)
    jobs.drain()
    page = admin.client.get("/designer/bots/hooked/webhooks").text
    reason = re.search(r'data-testid="status-reason">(.*?)</p>', page).group(1)
    assert statuses(page) == ["inactive"] and "410" in reason
    assert 'data-testid="delivery" data-status="failed"' in page
    redeliver = re.search(r'action="(/designer/bots/hooked/webhooks/deliveries/\d+/redeliver)"', page).group(1)
    refused = admin.post(redeliver)
    assert refused.status_code == 422 and "verify it first" in refused.text
    viewed = editor.client.get("/designer/bots/hooked/webhooks")  # an editor sees the log, without redeliver
    assert viewed.status_code == 200 and 'data-status="failed"' in viewed.text and "Redeliver" not in viewed.text
    editor.csrf("/designer/bots/hooked/webhooks")
    assert editor.post(redeliver).status_code == 403
    verify = re.search(r'action="(/designer/bots/hooked/webhooks/sub_\w+/verify)"', page).group(1)
    assert statuses(editor.post(verify, follow_redirects=True).text) == ["active"]  # editors manage subscriptions
    assert admin.post(redeliver).status_code == 302
    jobs.drain()
    assert receiver.events == ["message.received", "message.received"] and len(set(receiver.ids)) == 1
    page = admin.client.get("/designer/bots/hooked/webhooks").text
    assert 'data-status="delivered"' in page and 'data-status="failed"' not in page


def test_a_subscription_is_deleted(admin, bot, receiver):
    page = subscribe(admin, receiver.url).text
    delete = re.search(r'action="(/designer/bots/hooked/webhooks/sub_\w+/delete)"', page).group(1)
    assert statuses(admin.post(delete, follow_redirects=True).text) == []
    assert admin.post(delete).status_code == 404


# --- datasets ------------------------------------------------------------------------------------

def test_a_pulled_dataset_shows_its_rows_a_page_at_a_time_and_pull_now_updates_it(app, editor, bot, jobs, httpserver):
    httpserver.expect_request("/branches").respond_with_json(BRANCHES)
    editor.csrf("/designer/bots/hooked/datasets")
    saved = editor.post("/designer/bots/hooked/datasets", {"name": "branches", "url": httpserver.url_for("/branches"),
                                                           "mapping": MAPPING, "minutes": "60"})
    assert saved.status_code == 302
    page = editor.client.get("/designer/bots/hooked/datasets").text
    assert "0 rows" in page and "every 60 minutes" in page and "last pull never" in page
    assert "Pulling branches now" in editor.post("/designer/bots/hooked/datasets/branches/pull",
                                                 follow_redirects=True).text
    jobs.drain()
    page = editor.client.get("/designer/bots/hooked/datasets").text
    assert "25 rows" in page and page.count('data-testid="dataset-row"') == 10
    assert "&lt;script&gt;alert(2)" in page and "<script>alert" not in page
    following = re.search(r'data-testid="next-rows" hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    second = editor.client.get(following, headers={"HX-Request": "true"}).text
    assert "<html" not in second and re.findall(r'<td class="mono">(b\d+)</td>', second)[0] == "b10"
    httpserver.clear()
    httpserver.expect_request("/branches").respond_with_json(
        [*BRANCHES, {"id": "b99", "name": "New", "gps": {"lat": 50, "lng": 14}, "kinds": []}])
    editor.post("/designer/bots/hooked/datasets/branches/pull")
    jobs.drain()
    assert "26 rows" in editor.client.get("/designer/bots/hooked/datasets").text


def test_a_failed_pull_shows_its_error_and_keeps_the_rows(app, admin, bot, jobs, httpserver):
    httpserver.expect_request("/bad").respond_with_data("<html>maintenance</html>", content_type="text/html")
    with app.app_context():
        store.define("hooked", "branches", source_url=httpserver.url_for("/bad"), mapping={"key": "id"})
        store.replace(store.get("hooked", "branches"), store.parse_rows([{"key": "k1", "fields": {"name": "Kept"}}]))
        db.session.remove()
    admin.csrf("/designer/bots/hooked/datasets")
    admin.post("/designer/bots/hooked/datasets/branches/pull")
    jobs.drain()
    page = admin.client.get("/designer/bots/hooked/datasets").text
    error = re.search(r'data-testid="last-error">(.*?)</p>', page, re.S).group(1)
    assert "the old rows are kept" in error and "1 row<" in page and "Kept" in page
    with app.app_context():
        store.define("hooked", "stock")  # pushed: no source, nothing to pull
        db.session.remove()
    pushed = re.search(r'data-name="stock">(.*?)</section>', admin.client.get("/designer/bots/hooked/datasets").text,
                       re.S).group(1)
    assert "Pushed through the management API" in pushed and "Pull now" not in pushed and "No rows yet" in pushed
    refused = admin.post("/designer/bots/hooked/datasets/stock/pull")
    assert refused.status_code == 422 and "no source to pull from" in refused.text


def test_bad_dataset_settings_are_refused_with_the_reason(admin, bot):
    admin.csrf("/designer/bots/hooked/datasets")
    bad_json = admin.post("/designer/bots/hooked/datasets", {"name": "x", "url": "https://example.com/x",
                                                             "mapping": "{key: id"})
    assert bad_json.status_code == 422 and "not JSON" in bad_json.text and 'value="x"' in bad_json.text
    no_key = admin.post("/designer/bots/hooked/datasets", {"name": "x", "url": "https://example.com/x",
                                                           "mapping": "{}", "minutes": "60"})
    assert no_key.status_code == 422 and "mapping names where each row" in no_key.text
    minutes = admin.post("/designer/bots/hooked/datasets", {"name": "x", "url": "https://example.com/x",
                                                            "mapping": MAPPING, "minutes": "soon"})
    assert minutes.status_code == 422 and "whole number of minutes" in minutes.text
    assert admin.post("/designer/bots/hooked/datasets/nothing/pull").status_code == 404
    assert admin.client.get("/designer/bots/hooked/datasets/nothing/rows").status_code == 404
