"""The OpenAPI document: valid OpenAPI 3.1, naming what the server serves, and no request schemathesis makes
from it gets a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from management import make_key
from openapi_spec_validator import validate

from runtime.management.exports import EXPORTS

MAX_EXAMPLES = 25


def test_the_document_is_valid_openapi_3_1(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    export = doc["paths"]["/b/{bot}/api/management/export/{name}"]["get"]
    names = next(p for p in export["parameters"] if p["name"] == "name")["schema"]["enum"]
    assert names == list(EXPORTS) and len(names) == 8
    for path in ("/b/{bot}/api/management/trigger/{address}/{dialogId}",
                 "/b/{bot}/api/management/trigger/{address}/{dialogId}/{mode}",
                 "/v3/directline/tokens/generate", "/v3/directline/conversations/{conversationId}/activities"):
        assert path in doc["paths"]
    assert doc["paths"]["/b/{bot}/hooks/{connection}"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]["properties"]["type"]["enum"] == ["message", "postback", "event", "status"]
    assert doc["components"]["securitySchemes"]["functionKeyQuery"] == {"type": "apiKey", "in": "query", "name": "code"}
    in_mode = doc["paths"]["/b/{bot}/api/management/trigger/{address}/{dialogId}/{mode}"]["post"]["parameters"]
    assert next(p for p in in_mode if p["name"] == "mode")["schema"]["enum"] == ["clear"]


def test_the_docs_page_renders_it_without_scripts(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert "<script" not in html and "http://" not in html.replace("http://localhost", "")
    assert html.count('data-testid="operation"') == 32  # 12, 14 of datasets/webhooks, 5 handovers, 1 platforms
    assert "/b/{bot}/api/management/trigger/{address}/{dialogId}/{mode}" in html and "userDataSnapshot" in html


def test_no_request_schemathesis_makes_from_the_document_gets_a_5xx(app, bots):
    """Every operation, a bounded number of generated requests each (schemathesis' pytest plugin does not
    run on this pytest, so its strategies are driven by hypothesis here)."""
    app.config["MANAGEMENT_AUTH_FAILURE_LIMIT"] = "100000 per minute"
    bots.load("loyalty")
    key = make_key(app, "loyalty")
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    calls: list[tuple[str, int]] = []

    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_5xx(case) -> None:
            if "bot" in (case.path_parameters or {}) and len(calls) % 2 == 0:
                case.path_parameters["bot"] = "loyalty"  # half aimed past the key check, at a real bot
            response = case.call(headers={"x-functions-key": key})
            calls.append((case.operation.label, response.status_code))
            assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])

        no_5xx()
    assert len({label for label, _ in calls}) == 32  # every operation was exercised
    assert {status for _, status in calls} >= {200, 400, 401, 404}
