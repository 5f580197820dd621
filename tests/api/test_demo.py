"""The demo page: one script tag for the bot, and a plain word when the bot cannot chat from it yet."""

from __future__ import annotations

from runtime.channels.directline.cors import set_allowed_origins


def test_the_demo_page_embeds_the_widget_with_one_tag(app, client, bots):
    bots.load("support")
    with app.app_context():
        set_allowed_origins("support", ["http://localhost"])  # the test client's origin
    page = client.get("/b/support/demo")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<script src="http://localhost/static/webchat.js" data-bot="support"' in html
    assert 'data-event="order-help"' in html and 'data-event="checkout-done"' in html
    assert 'role="alert"' not in html


def test_the_demo_page_says_how_to_let_it_open_chats(client, bots):
    bots.load("lead-capture")
    html = client.get("/b/lead-capture/demo").get_data(as_text=True)
    assert "does not open chats for pages of <code>http://localhost</code> yet." in html
    assert "flask --app app bots origins lead-capture http://localhost" in html


def test_the_demo_page_of_an_unpublished_bot_says_to_publish_it(client, bots):
    bots.load("support", publish=False)
    assert "flask --app app bots publish support" in client.get("/b/support/demo").get_data(as_text=True)


def test_there_is_no_demo_page_for_a_bot_that_does_not_exist(client):
    page = client.get("/b/nobody/demo")
    assert page.status_code == 404
    assert "There is no bot &#39;nobody&#39;." in page.get_data(as_text=True)
