"""Issue 5's designer parts in real Chromium: a designer sets up an integration from the catalog, adds the step by
its form, tries the call, publishes, converses in the preview, and finds the call in the integration log. The
outside API is a local pytest-httpserver on loopback, which the suite's live app allow-lists."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from test_designer_browser import add_step, fill, saved, signed_in

from tests.e2e.conftest import person

pytestmark = pytest.mark.e2e
TOKEN = "tok-BROWSER-77d1e0"


@pytest.fixture
def designer_email(live) -> str:
    return person(live, "editor")


def test_configure_try_publish_converse_and_read_the_log(live, page: Page, designer_email, httpserver,
                                                          tmp_path):
    page.set_default_timeout(10000)
    httpserver.expect_request("/api", headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_data("", 404)
    httpserver.expect_request("/api/orders/42", headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_json(
        {"id": 42, "state": "shipped"})
    signed_in(page, live.url, designer_email)
    page.get_by_role("button", name="New bot").click()
    page.get_by_label("Name").fill("Order desk")
    page.get_by_role("button", name="Create bot").click()
    expect(page.get_by_test_id("dialog-title")).to_have_value("Welcome")
    editor_url = page.url

    # The catalog, searched; an http-request integration set up with a write-only token; test connection.
    page.get_by_role("button", name="Connect").click()
    page.get_by_role("link", name="Integrations").click()
    catalog = page.get_by_test_id("catalog")
    expect(catalog.locator("h3")).to_have_text(["Actions", "Services", "Protocols"])
    page.screenshot(path=str(tmp_path / "catalog.png"), full_page=True)
    page.get_by_placeholder("Search the templates").fill("any web address")
    expect(catalog.locator("li")).to_have_count(1)
    catalog.locator('li[data-template="http-request"]').get_by_role("link", name="Use").click()
    form = page.get_by_test_id("integration-form")
    form.locator('[name="name"]').fill("crm")
    form.get_by_label("Base address").fill(httpserver.url_for("/api"))
    form.get_by_label("Authentication method").select_option("bearer")
    form.get_by_label("Token (Bearer auth)").fill(TOKEN)
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved in the draft")
    expect(page.get_by_test_id("secret-token")).to_have_text("set — empty keeps it")
    page.get_by_test_id("test-connection").click()
    expect(page.get_by_test_id("connection-outcome")).to_contain_text("Connected.")
    assert TOKEN not in page.content()

    # The step by its form: a storage put in with a click, then "try this call" with a sample value.
    page.goto(editor_url)
    add_step(page, "question")
    fill(page, "What the bot asks", "Your order number?")
    fill(page, "Keep the answer in", "orderNo")
    add_step(page, "integration")
    use = page.locator("#step-form").get_by_label("Integration").first
    use.fill("crm")
    use.blur()
    address = page.locator('#step-form [name="params.url"]')
    expect(address).to_be_visible()
    address.fill("/orders/")
    page.locator('#step-form [data-insert="orderNo"]').click()
    expect(address).to_have_value("/orders/{{ orderNo }}")
    address.blur()
    saved(page)
    fill(page, "Keep the answer in", "order")
    page.locator("#step-form").get_by_text("Try this call").first.click()
    try_it = page.locator("#step-form").get_by_role("button", name="Try this call")
    try_it.click()  # the address changed since the form was drawn: the sample fields are asked for now
    page.locator('#step-form [name="sample.orderNo"]').fill("42")
    try_it.click()
    result = page.get_by_test_id("try-result")
    expect(result).to_contain_text("The call worked.")
    expect(result.get_by_test_id("try-status")).to_have_text("200")
    expect(result.get_by_test_id("try-output")).to_contain_text("shipped")
    page.screenshot(path=str(tmp_path / "try-call.png"))
    step_id = page.locator("#step-form").get_attribute("data-step")
    add_step(page, "message")
    fill(page, "What the bot says", "Your order is {{ order.body.state }}.")
    expect(page.get_by_test_id("problem-count")).to_have_text("0")

    page.get_by_test_id("publish").click()
    page.get_by_test_id("publish-note").fill("Orders")
    page.get_by_test_id("publish-confirm").click()
    expect(page.get_by_test_id("versions")).to_contain_text("Orders")
    page.get_by_role("link", name="Back to the editor").click()
    page.get_by_test_id("open-preview").click()
    chat = page.locator("#chat-box")
    expect(chat.get_by_test_id("arbor-message").filter(has_text="Your order number?")).to_be_visible()
    chat.get_by_test_id("arbor-input").fill("42")
    chat.get_by_test_id("arbor-send").click()
    expect(chat.get_by_test_id("arbor-message").filter(has_text="Your order is shipped.")).to_be_visible()

    # The integration log: the conversation's call under its step, bodies expandable, the token redacted.
    page.goto(f"{editor_url.split('/edit')[0]}/integration-log")
    log = page.get_by_test_id("integration-log")
    expect(log.locator("tbody.log-entry")).to_have_count(3)  # test connection, try, the conversation's call
    page.get_by_label("Step").select_option(step_id)
    page.get_by_role("button", name="Show").click()
    entry = log.locator("tbody.log-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(httpserver.url_for("/api/orders/42"))
    expect(entry.locator("td").nth(4)).to_have_text("200")
    entry.get_by_text("Request and response").click()
    expect(entry.locator("pre").last).to_contain_text("shipped")
    assert TOKEN not in page.content()
    page.screenshot(path=str(tmp_path / "integration-log.png"), full_page=True)
