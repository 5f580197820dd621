"""The example bot examples/jobs-crm.json end to end through the webchat's Direct Line API: job positions
from a local jobs API become a carousel (list-to-carousel), the applicant lands in a local CRM
(crm-add-contact), and the answers come in the same turns the user caused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from directline_client import Chat, secret_of, texts

from runtime.store.bots import import_bot
from runtime.store.secrets import set_secret

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "jobs-crm.json"
POSITIONS = {"positions": [{"id": 11, "title": "Baker", "location": "Brno"},
                           {"id": 12, "title": "Driver", "location": "Praha"}]}


@pytest.fixture
def app_config():
    """Its integrations may reach the loopback test servers, explicitly allow-listed."""
    return {"INTEGRATIONS_ALLOW_HOSTS": "127.0.0.1 ::1"}  # the older name of OUTBOUND_ALLOW_HOSTS, still read


def example_pointed_at(base: str) -> dict:
    """The example as an operator would point it at their own APIs (here: the local test server)."""
    doc = json.loads(EXAMPLE.read_text())
    doc["integrations"]["positions"]["config"]["url"] = f"{base}/jobs/api/positions"
    doc["integrations"]["crm"]["config"]["baseUrl"] = f"{base}/crm/api/v1"
    return doc


def test_jobs_to_carousel_then_contact_to_crm(app, client, httpserver):
    httpserver.expect_request("/jobs/api/positions", method="GET").respond_with_json(POSITIONS)
    httpserver.expect_request("/crm/api/v1/contacts", method="POST", headers={"Authorization": "Bearer crm-secret-1"},
                              json={"name": "Eva", "email": "eva@example.com",
                                    "note": "Applied for position 12 in the chat"}) \
        .respond_with_json({"id": "C-981", "name": "Eva"}, status=201)
    with app.app_context():
        doc = example_pointed_at(httpserver.url_for("").rstrip("/"))
        import_bot(doc, publish=True)
        set_secret("jobs-crm", "crm-token", "crm-secret-1", bound_to=doc["integrations"]["crm"]["config"]["baseUrl"])
    chat = Chat.generate(client, secret_of(app, "jobs-crm"))

    opening = chat.poll()
    assert texts(opening) == ["Hi! Let me look up our open positions.", "These are open now:"]
    [carousel] = [a for a in opening if a.get("attachmentLayout") == "carousel"]
    cards = [card["content"] for card in carousel["attachments"]]
    assert [(c["title"], c["subtitle"], c["buttons"][0]["value"]) for c in cards] == [
        ("Baker", "Brno", "11"), ("Driver", "Praha", "12")]

    chat.send(type="message", text="12", value="12")  # the Apply button of the Driver card (a postBack)
    assert texts(chat.poll()) == ["Good choice. What is your name?"]
    assert texts(chat.say("Eva")) == ["And your e-mail, Eva?"]
    assert texts(chat.say("eva@example.com")) == [
        "Thank you, Eva! Your application number is C-981. We will write to eva@example.com."]


def test_unreachable_apis_follow_on_error(app, client, httpserver):
    httpserver.expect_request("/jobs/api/positions").respond_with_data("Bad Gateway", status=502)
    with app.app_context():
        import_bot(example_pointed_at(httpserver.url_for("").rstrip("/")), publish=True)
    chat = Chat.generate(client, secret_of(app, "jobs-crm"))
    assert texts(chat.poll()) == ["Hi! Let me look up our open positions.",
                                  "Sorry, I cannot reach our job list right now. Please try again later."]
