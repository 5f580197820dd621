"""What the designer's integration forms call, against local servers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from runtime.extensions import db
from runtime.integrations import authoring, get
from runtime.integrations.catalog import Rejected
from runtime.store.bots import import_bot
from runtime.store.integration_log import IntegrationLogEntry
from runtime.store.secrets import set_secret

DOC = {"format": 1, "id": "shop", "name": "Shop", "start": "a", "dialogs": [{"id": "a", "steps": []}]}


@pytest.fixture
def shop(app, httpserver):
    import_bot(DOC, publish=True)
    set_secret("shop", "crm-token", "tok-designer-1", bound_to=httpserver.url_for("/api"))
    return "shop"


def crm(httpserver) -> dict:
    return {"template": "http-request", "config": {"baseUrl": httpserver.url_for("/api")}, "auth": {"type": "bearer"},
            "secrets": {"token": "crm-token"}}


def test_catalog_grouped_with_search(app):
    groups = authoring.catalog("carousel")
    assert [t["slug"] for t in groups["action"]] == ["list-to-carousel"]
    assert groups["action"][0]["description"].startswith("Fetch a JSON list")


def test_a_bots_integrations_checked_against_the_catalog(app):
    doc = {"integrations": {
        "old": {"template": "retired-crm"},
        "jira": {"template": "jira", "config": {"apiVersion": "4"}, "auth": {"type": "api-key"}},
        "crm": {"template": "crm-add-contact", "config": {"baseUrl": "https://crm.example.com"},
                "auth": {"type": "bearer"}, "secrets": {"token": "crm-token"}}}}
    found = {(p.pointer, p.message) for p in authoring.problems(doc, secret_names=[])}
    assert found == {
        ("/integrations/old/template", "The template 'retired-crm' is not installed on this server; steps using "
                                       "it will fail."),
        ("/integrations/jira/auth", "'jira' does not support 'api-key' auth; pick one of basic, bearer, "
                                    "oauth2-client-credentials."),
        ("/integrations/jira/config", "the value: 'baseUrl' is a required property."),
        ("/integrations/jira/config", "apiVersion: '4' is not one of ['2', '3']."),
        ("/integrations/jira/secrets", "Name the bot secret holding the 'apiKey' of its auth."),
        ("/integrations/crm/secrets/token", "The bot secret 'crm-token' is not set yet.")}
    assert authoring.problems({"integrations": {"crm": doc["integrations"]["crm"]}}, secret_names=["crm-token"]) == []


def test_test_connection_reports_in_words(shop, httpserver):
    httpserver.expect_request("/api", headers={"Authorization": "Bearer tok-designer-1"}).respond_with_data("", 404)
    assert authoring.test_connection(shop, crm(httpserver)) == {"ok": True, "status": 404, "message": "Connected."}
    httpserver.clear()
    httpserver.expect_request("/api").respond_with_data("", 401)
    refused = authoring.test_connection(shop, crm(httpserver))
    assert refused == {"ok": False, "status": 401, "message": "The server refused the credentials (401)."}
    set_secret(shop, "private-token", "tok-private", bound_to="http://10.0.0.5")
    private = authoring.test_connection(shop, {**crm(httpserver), "config": {"baseUrl": "http://10.0.0.5"},
                                               "secrets": {"token": "private-token"}})
    assert not private["ok"] and "a private address" in private["message"]
    rows = list(db.session.scalars(select(IntegrationLogEntry)))
    assert len(rows) == 3 and {r.step_id for r in rows} == {"(designer)"}


def test_try_this_call_with_sample_values_shows_the_real_response(shop, httpserver):
    httpserver.expect_request("/api/contacts", method="POST", json={"email": "sample@example.com"}) \
        .respond_with_json({"id": 9}, status=201)
    result = authoring.try_call(shop, crm(httpserver), {"method": "POST", "url": "/contacts",
                                                        "json": {"email": "{{ email }}"}},
                                sample={"email": "sample@example.com"})
    assert result.ok and result.output == {"status": 201, "headers": result.output["headers"], "body": {"id": 9}}
    assert result.exchanges[0]["request_headers"]["Authorization"] == "[redacted]"


def test_save_as_template_makes_a_reusable_action(shop, httpserver):
    httpserver.expect_request("/api/leads", method="POST", json={"email": "eva@example.com", "source": "bot"}) \
        .respond_with_json({"lead": 77}, status=201)
    params = {"method": "POST", "url": "/leads", "json": {"email": "{{ email }}", "source": "bot"}}
    template = authoring.save_as_template(crm(httpserver), params, slug="add-lead", title="Add a lead",
                                          description="Send a lead to our CRM.")
    assert template.level == "action" and template.spec["input"]["required"] == ["email"]
    assert get().catalog.get("add-lead") is not None
    integration = {"template": "add-lead", "config": {"baseUrl": httpserver.url_for("/api")},
                   "auth": {"type": "bearer"}, "secrets": {"token": "crm-token"}}
    result = authoring.try_call(shop, integration, {"email": "{{ email }}"}, sample={"email": "eva@example.com"})
    assert result.ok and result.output == {"lead": 77}
    with pytest.raises(Rejected, match="exists already"):
        authoring.save_as_template(crm(httpserver), params, slug="add-lead", title="x", description="x")
    with pytest.raises(Rejected, match="Only an http-request step"):
        authoring.save_as_template({"template": "webhook"}, params, slug="other", title="x", description="x")
