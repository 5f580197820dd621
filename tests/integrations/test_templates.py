"""Each catalog template against a local server that answers like the real service's documented API."""

from __future__ import annotations

import json

from werkzeug import Request, Response


def test_http_request_any_method_headers_query_and_form(httpserver, call):
    httpserver.expect_request("/orders", method="PUT", query_string="dry=1", headers={"X-Shop": "cz"},
                              data="status=paid").respond_with_json({"updated": True}, headers={"X-Trace": "t1"})
    result = call("http-request", {"config": {"baseUrl": httpserver.url_for("/")}},
                  {"method": "PUT", "url": "/orders", "query": {"dry": "1"}, "headers": {"X-Shop": "cz"},
                   "form": {"status": "paid"}})
    assert result.ok, result.error
    assert result.output["status"] == 200 and result.output["body"] == {"updated": True}
    assert result.output["headers"]["X-Trace"] == "t1"


def test_http_request_json_body_and_status_to_the_output(httpserver, call):
    httpserver.expect_request("/things", method="POST", json={"a": [1, 2]}).respond_with_data("gone", status=410)
    result = call("http-request", {}, {"method": "POST", "url": httpserver.url_for("/things"), "json": {"a": [1, 2]},
                                       "failOnError": False})
    assert result.ok and result.output["status"] == 410 and result.output["body"] == "gone"
    failed = call("http-request", {}, {"method": "POST", "url": httpserver.url_for("/things"), "json": {"a": [1, 2]}})
    assert not failed.ok and "answered 410" in failed.error


def test_webhook_posts_the_data_as_json_like_zapier_catch_hook(httpserver, call):
    # Zapier's catch hook answers {"status": "success", ...}; Make answers the text "Accepted": both count.
    httpserver.expect_request("/hooks/catch/1/abc", method="POST", json={"email": "eva@example.com"}) \
        .respond_with_json({"attempt": "a1", "id": "h1", "request_id": "r1", "status": "success"})
    httpserver.expect_request("/make", method="POST").respond_with_data("Accepted")
    zapier = call("webhook", {"config": {"url": httpserver.url_for("/hooks/catch/1/abc")}},
                  {"data": {"email": "eva@example.com"}})
    make = call("webhook", {}, {"data": {"x": 1}}, secrets={"url": httpserver.url_for("/make")})
    assert zapier.ok and zapier.output == {"status": 200}
    assert make.ok and make.output == {"status": 200}


def test_graphql_query_with_variables_and_reported_errors(httpserver, call):
    def answer(request: Request) -> Response:
        body = request.get_json()
        if body["variables"]["id"] == "missing":
            return Response(json.dumps({"data": None, "errors": [{"message": "Not found: job missing"}]}),
                            content_type="application/json")
        return Response(json.dumps({"data": {"job": {"id": body["variables"]["id"], "title": "Baker"}}}),
                        content_type="application/json")

    httpserver.expect_request("/graphql", method="POST").respond_with_handler(answer)
    integration = {"config": {"endpoint": httpserver.url_for("/graphql")}}
    query = "query Job($id: ID!) { job(id: $id) { id title } }"
    found = call("graphql", integration, {"query": query, "variables": {"id": "7"}})
    assert found.ok and found.output == {"job": {"id": "7", "title": "Baker"}}
    missing = call("graphql", integration, {"query": query, "variables": {"id": "missing"}})
    assert not missing.ok and "Not found: job missing" in missing.error


def test_rest_resource_maps_actions_to_methods(httpserver, call):
    base = {"config": {"baseUrl": httpserver.url_for("/api/v1")}}
    httpserver.expect_request("/api/v1/contacts", method="GET", query_string="page=2").respond_with_json([{"id": 1}])
    httpserver.expect_request("/api/v1/contacts/1", method="GET").respond_with_json({"id": 1, "name": "Eva"})
    httpserver.expect_request("/api/v1/contacts", method="POST", json={"name": "Jan"}) \
        .respond_with_json({"id": 2, "name": "Jan"}, status=201)
    httpserver.expect_request("/api/v1/contacts/2", method="PATCH", json={"name": "Jana"}) \
        .respond_with_json({"id": 2, "name": "Jana"})
    httpserver.expect_request("/api/v1/contacts/2", method="PUT", json={"name": "J"}).respond_with_json({"id": 2})
    httpserver.expect_request("/api/v1/contacts/2", method="DELETE").respond_with_data("", status=204)
    assert call("rest-resource", base, {"resource": "contacts", "action": "list", "query": {"page": 2}}).output == \
        [{"id": 1}]
    assert call("rest-resource", base, {"resource": "contacts", "action": "get", "id": 1}).output["name"] == "Eva"
    assert call("rest-resource", base, {"resource": "contacts", "action": "create", "body": {"name": "Jan"}}) \
        .output == {"id": 2, "name": "Jan"}
    assert call("rest-resource", base, {"resource": "contacts", "action": "update", "id": "2",
                                        "body": {"name": "Jana"}}).output["name"] == "Jana"
    assert call("rest-resource", base, {"resource": "contacts", "action": "replace", "id": "2",
                                        "body": {"name": "J"}}).ok
    deleted = call("rest-resource", base, {"resource": "contacts", "action": "delete", "id": "2"})
    assert deleted.ok and deleted.output is None
    no_id = call("rest-resource", base, {"resource": "contacts", "action": "get"})
    assert not no_id.ok and "needs the record's id" in no_id.error


def test_jira_issue_create_get_and_comment_in_the_v3_shapes(httpserver, call):
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text",
                                                                                        "text": "Router down"}]}]}
    httpserver.expect_request("/rest/api/3/issue", method="POST", json={"fields": {
        "project": {"key": "SUP"}, "summary": "Help", "issuetype": {"name": "Bug"}, "description": adf}}) \
        .respond_with_json({"id": "10000", "key": "SUP-24", "self": "https://x/rest/api/3/issue/10000"}, status=201)
    httpserver.expect_request("/rest/api/3/issue/SUP-24", method="GET", query_string="fields=summary%2Cstatus") \
        .respond_with_json({"id": "10000", "key": "SUP-24", "fields": {"summary": "Help",
                                                                       "status": {"name": "To Do", "id": "1"}}})
    thanks = {"type": "doc", "version": 1,
              "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Thx"}]}]}
    httpserver.expect_request("/rest/api/3/issue/SUP-24/comment", method="POST", json={"body": thanks}) \
        .respond_with_json({"id": "10001", "body": {}, "created": "2026-11-22T01:00:00.000+0000"}, status=201)
    jira = {"config": {"baseUrl": httpserver.url_for("")}, "auth": {"type": "basic", "username": "bot@example.com"}}
    secrets = {"password": "api-token-123"}
    created = call("jira", jira, {"action": "create", "project": "SUP", "summary": "Help", "issueType": "Bug",
                                  "description": "Router down"}, secrets=secrets)
    assert created.ok, created.error
    assert created.output["key"] == "SUP-24" and created.output["url"].endswith("/browse/SUP-24")
    got = call("jira", jira, {"action": "get", "issue": "SUP-24"}, secrets=secrets)
    assert got.output["status"] == "To Do" and got.output["summary"] == "Help"
    comment = call("jira", jira, {"action": "comment", "issue": "SUP-24", "comment": "Thx"}, secrets=secrets)
    assert comment.ok and comment.output["commentId"] == "10001"
    assert all(e["request_headers"]["Authorization"] == "[redacted]" for e in created.exchanges)


def test_jira_v2_takes_plain_text(httpserver, call):
    httpserver.expect_request("/rest/api/2/issue/SUP-1/comment", method="POST", json={"body": "plain"}) \
        .respond_with_json({"id": "5"}, status=201)
    result = call("jira", {"config": {"baseUrl": httpserver.url_for(""), "apiVersion": "2"},
                           "auth": {"type": "bearer"}}, {"action": "comment", "issue": "SUP-1", "comment": "plain"},
                  secrets={"token": "pat-xyz"})
    assert result.ok and result.output["commentId"] == "5"


def test_jira_create_ticket_action(httpserver, call):
    httpserver.expect_request("/rest/api/2/issue", method="POST", json={"fields": {
        "project": {"key": "SUP"}, "summary": "Modem", "description": "It blinks", "issuetype": {"name": "Task"}}}) \
        .respond_with_json({"id": "10002", "key": "SUP-25", "self": "..."}, status=201)
    result = call("jira-create-ticket", {"config": {"baseUrl": httpserver.url_for(""), "project": "SUP"},
                                         "auth": {"type": "bearer"}},
                  {"summary": "Modem", "description": "It blinks"}, secrets={"token": "pat-1"})
    assert result.ok, result.error
    assert result.output == {"id": "10002", "key": "SUP-25", "url": httpserver.url_for("/browse/SUP-25")}


def test_hubspot_crm_objects_v3(httpserver, call):
    contact = {"id": "512", "properties": {"email": "eva@example.com", "firstname": "Eva"},
               "createdAt": "2026-11-22T01:00:00Z", "updatedAt": "2026-11-22T01:00:00Z", "archived": False}
    httpserver.expect_request("/crm/v3/objects/contacts", method="POST",
                              json={"properties": {"email": "eva@example.com", "firstname": "Eva"}},
                              headers={"Authorization": "Bearer pat-na1-abc"}).respond_with_json(contact, status=201)
    httpserver.expect_request("/crm/v3/objects/contacts/512", method="GET", query_string="properties=email") \
        .respond_with_json(contact)
    httpserver.expect_request("/crm/v3/objects/contacts/512", method="PATCH",
                              json={"properties": {"firstname": "Eve"}}).respond_with_json(
        {**contact, "properties": {"firstname": "Eve"}})
    httpserver.expect_request("/crm/v3/objects/contacts/search", method="POST", json={
        "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "eva@example.com"}]}]}) \
        .respond_with_json({"total": 1, "results": [contact], "paging": {}})
    hubspot = {"config": {"baseUrl": httpserver.url_for("")}, "auth": {"type": "bearer"}}
    secrets = {"token": "pat-na1-abc"}
    created = call("hubspot", hubspot, {"action": "create", "properties": {"email": "eva@example.com",
                                                                          "firstname": "Eva"}}, secrets=secrets)
    assert created.ok and created.output["id"] == "512"
    assert call("hubspot", hubspot, {"action": "get", "id": "512", "fields": ["email"]}, secrets=secrets).ok
    assert call("hubspot", hubspot, {"action": "update", "id": "512", "properties": {"firstname": "Eve"}},
                secrets=secrets).output["properties"] == {"firstname": "Eve"}
    found = call("hubspot", hubspot, {"action": "search", "search": {"email": "eva@example.com"}}, secrets=secrets)
    assert found.output["total"] == 1 and found.output["results"][0]["id"] == "512"


def test_crm_add_contact(httpserver, call):
    httpserver.expect_request("/api/v1/contacts", method="POST",
                              json={"name": "Eva", "email": "eva@example.com", "note": ""},
                              headers={"X-API-Key": "k-123"}).respond_with_json({"id": 42}, status=201)
    result = call("crm-add-contact", {"config": {"baseUrl": httpserver.url_for("/api/v1")},
                                      "auth": {"type": "api-key", "in": "header", "name": "X-API-Key"}},
                  {"name": "Eva", "email": "eva@example.com"}, secrets={"apiKey": "k-123"})
    assert result.ok, result.error
    assert result.output == {"id": "42"}
    bad = call("crm-add-contact", {"config": {"baseUrl": httpserver.url_for("/api/v1")}}, {"name": "Eva",
                                                                                         "email": "not-an-address"})
    assert not bad.ok and "input does not fit" in bad.error and bad.exchanges == []


def test_slack_post_message_through_an_incoming_webhook(httpserver, call):
    # Slack's incoming webhooks answer 200 with the text "ok".
    httpserver.expect_request("/services/T000/B000/XXXX", method="POST", json={"text": "New lead: Eva"}) \
        .respond_with_data("ok", content_type="text/html")
    result = call("slack-post-message", {"secrets": {"webhookUrl": "slack-hook"}}, {"text": "New lead: Eva"},
                  secrets={"webhookUrl": httpserver.url_for("/services/T000/B000/XXXX")})
    assert result.ok and result.output == {"ok": True}
    assert "XXXX" not in json.dumps(result.exchanges)  # the webhook address is the secret


def test_list_to_carousel_maps_fields_to_cards(httpserver, call):
    positions = {"data": {"positions": [
        {"id": 11, "name": "Baker", "place": {"city": "Brno"}, "photo": "https://example.com/b.png"},
        {"id": 12, "name": "Driver", "place": {"city": "Praha"}},
        {"id": 13, "name": None}]}}
    httpserver.expect_request("/positions", query_string="city=Brno").respond_with_json(positions)
    config = {"url": httpserver.url_for("/positions"), "list": "data.positions", "title": "name",
              "subtitle": "place.city", "image": "photo", "value": "id"}
    result = call("list-to-carousel", {"config": config}, {"query": {"city": "Brno"}})
    assert result.ok, result.error
    assert result.output == [
        {"title": "Baker", "subtitle": "Brno", "image": "https://example.com/b.png", "value": "11"},
        {"title": "Driver", "subtitle": "Praha", "value": "12"}]
