"""The designer's integration pages through the Flask test client, with a local pytest-httpserver as the outside
API (allow-listed as tests/integrations do): catalog, configuring with write-only secrets, test connection, the
step's params form, "try this call", "save as template", and the integration log; no secret value on any page."""

from __future__ import annotations

import json
import re

import pytest
from designer_client import Designer
from werkzeug import Response

from runtime.extensions import db
from runtime.store import secrets

TOKEN = "tok-SECRET-3f9a1c"
HX = {"HX-Request": "true"}


@pytest.fixture
def app_config():
    return {"INTEGRATIONS_ALLOW_HOSTS": "127.0.0.1 ::1"}


@pytest.fixture
def designer(app, client) -> Designer:
    return Designer(app, client).sign_in()


@pytest.fixture
def pages():
    """Every page and partial a test got, to check that no secret value is on any of them."""
    return []


def get(designer: Designer, pages: list, path: str, **kwargs):
    response = designer.client.get(path, **kwargs)
    pages.append(response.text)
    return response


def configure(designer: Designer, bot_id: str, base: str, name: str = "crm", **extra):
    data = {"revision": designer.draft(bot_id)[1], "template": "http-request", "original": "", "name": name,
            "config.baseUrl": base, "auth.type": "bearer", "auth.username": "", "auth.in": "",
            "secret.token": TOKEN, **extra}
    return designer.post(f"/designer/bots/{bot_id}/integrations", data)


def integration_step(designer: Designer, bot_id: str, url: str) -> str:
    step = designer.add_step(bot_id, "integration", "welcome")
    assert designer.edit(f"/designer/bots/{bot_id}/steps/{step}", {"use": "crm"}).status_code == 200
    saved = designer.edit(f"/designer/bots/{bot_id}/steps/{step}", {
        "use": "crm", "params.method": "GET", "params.url": url, "output": "order", "_dialog": "welcome"})
    assert saved.status_code == 200, saved.text
    return step


def try_call(designer: Designer, bot_id: str, step: str, sample: dict):
    return designer.client.post(f"/designer/bots/{bot_id}/steps/{step}/try",
                                data={"_dialog": "welcome", **{f"sample.{k}": v for k, v in sample.items()}},
                                headers={**HX, "X-CSRFToken": designer.token})


def test_catalog_grouped_by_level_with_search_and_descriptions(designer, pages):
    bot_id = designer.create_bot()
    page = get(designer, pages, f"/designer/bots/{bot_id}/integrations").text
    levels = [m for m in re.findall(r'<h3 class="level">(\w+)</h3>', page)]
    assert levels == ["Actions", "Services", "Protocols"]
    assert 'data-template="list-to-carousel"' in page and "Fetch a JSON list" in page
    assert page.index('data-template="list-to-carousel"') < page.index('data-template="jira"') \
        < page.index('data-template="http-request"')
    found = get(designer, pages, f"/designer/bots/{bot_id}/integrations?partial=catalog&q=carousel", headers=HX).text
    assert re.findall(r'data-template="([^"]+)"', found) == ["list-to-carousel"] and "<html" not in found
    assert "No template matches." in get(designer, pages, f"/designer/bots/{bot_id}/integrations?partial=catalog"
                                                          "&q=zzzz", headers=HX).text


def test_configure_saves_into_the_draft_with_write_only_secrets_and_tests_the_connection(designer, app, httpserver,
                                                                                      pages):
    bot_id = designer.create_bot()
    form = get(designer, pages, f"/designer/bots/{bot_id}/integrations/new?template=http-request").text
    assert 'name="config.baseUrl"' in form and 'name="secret.token"' in form
    assert re.findall(r'<option value="([^"]+)"', form.split('name="auth.type"')[1].split("</select>")[0]) == [
        "none", "basic", "bearer", "user-token", "api-key", "oauth2-client-credentials", "oauth2-authorization-code"]
    bad = configure(designer, bot_id, "ftp://nowhere")
    assert bad.status_code == 422 and "does not match" in bad.text and TOKEN not in bad.text
    saved = configure(designer, bot_id, httpserver.url_for("/api"))
    assert saved.status_code == 302 and saved.location.endswith("/integrations/crm?saved=1")
    doc, _ = designer.draft(bot_id)
    assert doc["integrations"]["crm"] == {"template": "http-request", "config": {"baseUrl": httpserver.url_for("/api")},
                                          "auth": {"type": "bearer"}, "secrets": {"token": "crm.token"}}
    with app.app_context():
        assert secrets.values(bot_id, ["crm.token"]) == {"crm.token": TOKEN}
        db.session.remove()
    page = get(designer, pages, f"/designer/bots/{bot_id}/integrations/crm").text
    assert "set — empty keeps it" in page and TOKEN not in page
    # Saving again with the secret field empty keeps the secret.
    again = designer.post(f"/designer/bots/{bot_id}/integrations", {
        "revision": designer.draft(bot_id)[1], "template": "http-request", "original": "crm", "name": "crm",
        "config.baseUrl": httpserver.url_for("/api"), "auth.type": "bearer", "secret.token": ""})
    assert again.status_code == 302 and designer.draft(bot_id)[0]["integrations"]["crm"]["secrets"] == {
        "token": "crm.token"}

    httpserver.expect_request("/api", headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_data("", 404)
    tested = designer.client.post(f"/designer/bots/{bot_id}/integrations/crm/test",
                                  headers={**HX, "X-CSRFToken": designer.token})
    pages.append(tested.text)
    assert tested.status_code == 200 and "Connected." in tested.text and "HTTP 404" in tested.text
    httpserver.clear()
    httpserver.expect_request("/api").respond_with_data("", 401)
    refused = designer.client.post(f"/designer/bots/{bot_id}/integrations/crm/test",
                                   headers={**HX, "X-CSRFToken": designer.token})
    assert "refused the credentials (401)" in refused.text
    listing = get(designer, pages, f"/designer/bots/{bot_id}/integrations").text
    assert 'data-testid="configured"' in listing and "crm" in listing
    assert all(TOKEN not in text for text in pages)


def test_a_stale_configure_form_is_refused_and_nothing_is_lost(designer, httpserver):
    bot_id = designer.create_bot()
    configure(designer, bot_id, httpserver.url_for("/api"))
    stale = designer.post(f"/designer/bots/{bot_id}/integrations", {
        "revision": 1, "template": "http-request", "original": "", "name": "other",
        "config.baseUrl": httpserver.url_for("/x"), "auth.type": "none"})
    assert stale.status_code == 409 and "another tab" in stale.text
    assert list(designer.draft(bot_id)[0]["integrations"]) == ["crm"]


def test_params_form_inserts_storages_and_try_this_call_shows_the_real_answer(designer, httpserver, pages):
    bot_id = designer.create_bot()
    configure(designer, bot_id, httpserver.url_for("/api"))
    step = integration_step(designer, bot_id, "/orders/{{ orderNo }}")
    form = get(designer, pages, f"/designer/bots/{bot_id}/steps/{step}", headers=HX).text
    assert 'name="params.url"' in form and 'name="params.method"' in form
    assert 'data-insert="order"' in form and 'name="sample.orderNo"' in form
    # Another integration, another params form: the whole inspector comes back, drawn for it.
    configure(designer, bot_id, httpserver.url_for("/other"), name="other", **{"auth.type": "none"})
    chosen = designer.edit(f"/designer/bots/{bot_id}/steps/{step}", {"use": "other", "_dialog": "welcome"})
    assert chosen.status_code == 200 and chosen.headers["HX-Retarget"] == "#inspector"
    assert 'name="params.url"' in chosen.text and 'value="other"' in chosen.text
    kept = designer.edit(f"/designer/bots/{bot_id}/steps/{step}", {"use": "crm", "_dialog": "welcome"})
    assert "HX-Retarget" in kept.headers and "/orders/{{ orderNo }}" in kept.text

    httpserver.expect_request("/api/orders/42", headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_json(
        {"id": 42, "state": "shipped"})
    tried = try_call(designer, bot_id, step, {"orderNo": "42"})
    pages.append(tried.text)
    assert tried.status_code == 200 and "The call worked." in tried.text
    assert 'data-testid="try-status">200<' in tried.text and "shipped" in tried.text

    httpserver.expect_request("/api/orders/7").respond_with_response(Response("down for maintenance", 503))
    failed = try_call(designer, bot_id, step, {"orderNo": "7"})
    assert "503" in failed.text and "down for maintenance" in failed.text and "role=\"alert\"" in failed.text
    assert all(TOKEN not in text for text in pages)

    renamed = designer.post(f"/designer/bots/{bot_id}/integrations", {
        "revision": designer.draft(bot_id)[1], "template": "http-request", "original": "crm", "name": "shop",
        "config.baseUrl": httpserver.url_for("/api"), "auth.type": "bearer"})
    doc = designer.draft(bot_id)[0]
    assert renamed.status_code == 302 and sorted(doc["integrations"]) == ["other", "shop"]
    assert doc["dialogs"][0]["steps"][1]["use"] == "shop" and doc["integrations"]["shop"]["secrets"] == {
        "token": "crm.token"}


def test_try_this_call_shows_a_refused_private_address(designer, pages):
    bot_id = designer.create_bot()
    configure(designer, bot_id, "http://169.254.169.254/latest")
    step = integration_step(designer, bot_id, "/meta-data")
    tried = try_call(designer, bot_id, step, {})
    assert tried.status_code == 200 and 'role="alert"' in tried.text
    assert "169.254.169.254" in tried.text and re.search(r"not (a )?public|refused|private|link-local", tried.text)


def test_save_as_template_adds_an_action_template_to_the_catalog(designer, httpserver, pages):
    bot_id = designer.create_bot()
    configure(designer, bot_id, httpserver.url_for("/api"))
    step = integration_step(designer, bot_id, "/orders/{{ orderNo }}")
    assert "Save as template" in get(designer, pages, f"/designer/bots/{bot_id}/steps/{step}", headers=HX).text
    path = f"/designer/bots/{bot_id}/steps/{step}/save-template"
    headers = {**HX, "X-CSRFToken": designer.token}
    made = designer.client.post(path, data={"_dialog": "welcome", "new_template_slug": "order-status",
                                            "new_template_title": "Order status",
                                            "new_template_description": "Looks up an order by its number."},
                                headers=headers)
    assert made.status_code == 200 and "order-status" in made.text and "orderNo" in made.text
    again = designer.client.post(path, data={"_dialog": "welcome", "new_template_slug": "order-status"},
                                 headers=headers)
    assert again.status_code == 422 and "exists already" in again.text
    bad = designer.client.post(path, data={"_dialog": "welcome", "new_template_slug": "Bad Id!"}, headers=headers)
    assert bad.status_code == 422 and "lower-case" in bad.text
    catalog = get(designer, pages, f"/designer/bots/{bot_id}/integrations?partial=catalog&q=order", headers=HX).text
    actions = catalog.split("Services")[0]
    assert 'data-template="order-status"' in actions and "Looks up an order by its number." in actions
    form = get(designer, pages, f"/designer/bots/{bot_id}/integrations/new?template=order-status").text
    assert 'name="config.baseUrl"' in form and httpserver.url_for("/api") in form
    assert all(TOKEN not in text for text in pages)


def test_integration_log_lists_calls_filters_and_redacts(designer, httpserver, pages):
    bot_id = designer.create_bot()
    configure(designer, bot_id, httpserver.url_for("/api"))
    step = integration_step(designer, bot_id, "/orders/{{ orderNo }}")
    httpserver.expect_request("/api/orders/1").respond_with_json({"echo": TOKEN, "ok": True})
    httpserver.expect_request("/api/orders/2").respond_with_data("no", 500)
    try_call(designer, bot_id, step, {"orderNo": "1"})
    try_call(designer, bot_id, step, {"orderNo": "2"})
    empty = get(designer, pages, f"/designer/bots/{bot_id}/integration-log?step=nothing").text
    assert 'data-testid="no-calls"' in empty

    page = get(designer, pages, f"/designer/bots/{bot_id}/integration-log").text
    rows = re.findall(r'<tbody class="log-entry( failed)?">', page)
    assert rows == [" failed", ""]  # newest first
    assert httpserver.url_for("/api/orders/2") in page and httpserver.url_for("/api/orders/1") in page
    assert "(designer)" in page and "GET" in page and "Authorization" in page
    failures = get(designer, pages, f"/designer/bots/{bot_id}/integration-log?failed=1").text
    assert "/api/orders/2" in failures and "/api/orders/1" not in failures
    by_step = get(designer, pages, f"/designer/bots/{bot_id}/integration-log?step=(designer)").text
    assert len(re.findall(r'class="log-entry', by_step)) == 2
    # The token is redacted everywhere, even where the outside API echoed it back in its body.
    assert all(TOKEN not in text for text in pages)
    assert json.dumps(TOKEN) not in page


def test_an_integration_no_step_calls_can_be_deleted_and_its_secrets_stay(designer, app, httpserver, pages):
    bot_id = designer.create_bot()
    configure(designer, bot_id, httpserver.url_for("/api"))
    step = integration_step(designer, bot_id, "/orders")
    form = get(designer, pages, f"/designer/bots/{bot_id}/integrations/crm")
    assert 'data-testid="delete-integration"' in form.text

    used = designer.post(f"/designer/bots/{bot_id}/integrations/crm/delete", {"revision": designer.draft(bot_id)[1]})
    assert used.status_code == 422 and f"Steps still call &#39;crm&#39; ({step})" in used.text
    assert "crm" in designer.draft(bot_id)[0]["integrations"]

    doc, revision = designer.draft(bot_id)
    designer.post(f"/designer/bots/{bot_id}/steps/{step}/delete", {"revision": revision})
    assert all(s.get("use") != "crm" for s in designer.draft(bot_id)[0]["dialogs"][0]["steps"])
    gone = designer.post(f"/designer/bots/{bot_id}/integrations/crm/delete", {"revision": designer.draft(bot_id)[1]})
    assert gone.status_code == 302 and "deleted=crm" in gone.headers["Location"]
    assert "crm" not in (designer.draft(bot_id)[0].get("integrations") or {})
    listed = get(designer, pages, gone.headers["Location"])
    assert "The integration crm was deleted from the draft" in listed.text
    with app.app_context():
        assert "crm.token" in secrets.names(bot_id)  # the published version may still use it
    again = designer.post(f"/designer/bots/{bot_id}/integrations/crm/delete", {"revision": designer.draft(bot_id)[1]})
    assert again.status_code == 404 and "no integration named 'crm'" in again.text
    assert all(TOKEN not in text for text in pages)


def test_the_step_form_offers_the_timings_the_runtime_has(designer, httpserver, pages):
    """No "background" timing: data kept ahead of time is a dataset (docs/integrations.md)."""
    bot_id = designer.create_bot()
    configure(designer, bot_id, httpserver.url_for("/api"))
    step = integration_step(designer, bot_id, "/orders")
    form = get(designer, pages, f"/designer/bots/{bot_id}/steps/{step}", headers=HX).text
    assert 'value="sync"' in form and 'value="async"' in form and 'value="background"' not in form
