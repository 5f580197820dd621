"""The demo page: one script tag for the bot, a button for each page event the bot reacts to, and a plain word
when the bot cannot chat from it yet."""

from __future__ import annotations

import html
import re

from golden import load_doc

from runtime.channels.demo import humanize
from runtime.channels.directline.cors import set_allowed_origins
from runtime.store.bots import import_bot


def event_buttons(page: str) -> list[tuple[str, str | None, str]]:
    """(event, value as the page sends it, label) of each page-event button."""
    found = re.findall(r'<button type="button" data-event="([^"]+)"(?: data-value="([^"]*)")? disabled>'
                       r'([^<]*)</button>', page)
    return [(event, html.unescape(value) if value else None, label) for event, value, label in found]


def test_the_demo_page_embeds_the_widget_with_one_tag(app, client, bots):
    bots.load("support")
    with app.app_context():
        set_allowed_origins("support", ["http://localhost"])  # the test client's origin
    page = client.get("/b/support/demo")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<script src="http://localhost/static/webchat.js" data-bot="support"' in html
    assert 'role="alert"' not in html


def test_the_support_bot_gets_buttons_for_its_triggers_and_its_wait_with_sample_values(client, bots):
    bots.load("support")
    page = client.get("/b/support/demo").get_data(as_text=True)
    assert event_buttons(page) == [("order-help", '"AB1234"', "Order help"),
                                   ("checkout-opened", None, "Checkout opened"),
                                   ("checkout-done", '{"total": 59.9}', "Checkout done")]
    assert "<code>order-help</code> with <code>&#34;AB1234&#34;</code>: starts a dialog" in page
    assert "<code>checkout-done</code> with <code>{&#34;total&#34;: 59.9}</code>: ends a wait" in page


def test_bots_without_page_events_show_no_event_buttons(client, bots):
    for bot in ("lead-capture", "jobs-crm"):
        bots.load(bot)
        page = client.get(f"/b/{bot}/demo").get_data(as_text=True)
        assert event_buttons(page) == [] and "The page tells the bot" not in page
        assert "order-help" not in page and "checkout" not in page


def test_any_bot_gets_its_own_page_events_each_once_in_words(app, client):
    doc = load_doc("store-wait")
    doc["triggers"] = [{"event": "pricingOpened", "dialog": "checkout"}]
    doc["dialogs"][0]["steps"][1]["events"] = ["paid", "pricingOpened", "SMS_sent"]
    with app.app_context():
        import_bot(doc, publish=True)
    page = client.get("/b/store-wait/demo").get_data(as_text=True)
    assert event_buttons(page) == [("pricingOpened", None, "Pricing opened"), ("paid", None, "Paid"),
                                   ("SMS_sent", None, "SMS sent")]
    assert "<code>pricingOpened</code>: starts a dialog or ends a wait" in page
    with app.app_context():
        import_bot({**doc, "triggers": [{"event": "draft-only", "dialog": "checkout"}]})  # a draft: not shown
    assert [event for event, _, _ in event_buttons(client.get("/b/store-wait/demo").text)] == \
        ["pricingOpened", "paid", "SMS_sent"]


def test_an_unpublished_bot_shows_no_event_buttons(client, bots):
    bots.load("support", publish=False)
    assert event_buttons(client.get("/b/support/demo").get_data(as_text=True)) == []


def test_event_names_in_words():
    assert [humanize(n) for n in ("order-help", "checkoutDone", "SMS-sent", "cart.item_added", "x")] == \
        ["Order help", "Checkout done", "SMS sent", "Cart item added", "X"]


def test_the_demo_page_says_how_to_let_it_open_chats(client, bots):
    bots.load("lead-capture")
    html = client.get("/b/lead-capture/demo").get_data(as_text=True)
    assert "does not open chats for pages of <code>http://localhost</code> yet." in html
    assert 'the bot\'s <a href="/designer/bots/lead-capture/share">Share panel</a>' in html  # not a command
    assert "flask --app" not in html and 'data-testid="talking-to"' not in html


def test_the_demo_page_of_an_unpublished_bot_says_to_publish_it(client, bots):
    bots.load("support", publish=False)
    html = client.get("/b/support/demo").get_data(as_text=True)
    assert 'Publish it in the designer: <a href="/designer/bots/support/edit">open the bot</a>' in html
    assert "flask --app" not in html


def test_there_is_no_demo_page_for_a_bot_that_does_not_exist(client):
    page = client.get("/b/nobody/demo")
    assert page.status_code == 404
    assert "There is no bot &#39;nobody&#39;." in page.get_data(as_text=True)


def test_the_page_sets_the_widget_locale_and_offers_the_bot_languages(client, bots):
    bots.load("support")
    page = client.get("/b/support/demo?locale=cs").get_data(as_text=True)
    assert 'data-locale="cs"' in page and '<html lang="cs">' in page
    assert '<a href="?locale=en" hreflang="en" lang="en">English</a>' in page
    assert '<a href="?locale=cs" hreflang="cs" lang="cs" aria-current="page">čeština</a>' in page
    assert "data-locale" not in client.get('/b/support/demo?locale="><script>').get_data(as_text=True)
