"""The widget on the demo page, as a visitor and as the page's own script use it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from runtime.testing.playwright_plugin import Webchat

pytestmark = pytest.mark.e2e


def events_box(page: Page):
    """The demo page's list of the events the bot sent (its `arbor:event` listener writes them)."""
    return page.locator("#events li")


def test_a_visitor_converses_with_buttons_and_a_carousel_and_keeps_it_over_a_reload(page: Page, live):
    page.goto(live.demo("lead-capture"))
    expect(page.get_by_test_id("arbor-panel")).to_be_hidden()
    chat = Webchat(page, "lead-capture").open()
    chat.expect_bot("Hi there! I am Arbor's demo assistant.")
    chat.expect_bot("What brings you here?")
    expect(chat.part("arbor-button")).to_have_text(["See the plans", "Book a demo", "Just looking"])

    chat.button("See the plans").click()
    expect(chat.messages("user").filter(has_text="See the plans")).to_be_visible()
    expect(chat.part("arbor-button")).to_have_count(0)  # used: gone
    chat.expect_bot("Our plans:")
    cards = chat.part("arbor-card")
    expect(cards).to_have_count(3)
    expect(cards.first).to_contain_text("19 € a month, up to 3 people")

    # Keyboard: from the input (where a used button leaves the focus) Shift+Tab goes back into the
    # carousel, the arrow keys go card to card, Enter picks.
    expect(chat.part("arbor-input")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(chat.part("arbor-card-button").filter(has_text="Choose Business")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(chat.part("arbor-card-button").filter(has_text="Choose Team")).to_be_focused()
    page.keyboard.press("Enter")
    expect(chat.messages("user").filter(has_text="Choose Team")).to_be_visible()
    chat.expect_bot("Good choice: the Team plan.")
    chat.expect_bot("What is your name?")
    count = chat.messages().count()

    page.reload()
    chat = Webchat(page, "lead-capture").open()
    chat.expect_bot("What is your name?")
    expect(chat.messages()).to_have_count(count)  # the same conversation, nothing twice
    chat.say("Eva")
    chat.expect_bot("Thanks, Eva. Your e-mail?")


def test_a_page_event_starts_a_dialog_and_the_bot_answers_with_events(page: Page, live):
    page.goto(live.demo("support"))
    page.get_by_role("button", name="Order help").click()
    chat = Webchat(page, "support")
    expect(chat.panel).to_be_visible()
    chat.expect_bot("Order AB1234 is on its way.")
    expect(events_box(page)).to_have_text(['support: show-order {"id":"AB1234"}'])

    # A wait step ends when the page says checkout is done; events already handled never come again.
    page.reload()
    page.get_by_role("button", name="Checkout opened").click()
    chat.expect_bot("I will wait here until you are done.")
    page.get_by_role("button", name="Checkout done").click()
    chat.expect_bot("Thank you for your order!")
    expect(events_box(page)).to_have_text(['support: confetti {"total":"59.9"}'])


def test_the_bot_closes_the_chat_and_the_page_hears_it(page: Page, live):
    page.goto(live.demo("support"))
    page.evaluate("""() => {
        window.heard = [];
        addEventListener('arbor:ready', (e) => e.detail.chat.on('close-chat', (value, name) => heard.push(name)));
        if (Arbor.get('support')) Arbor.get('support').on('close-chat', (value, name) => heard.push(name));
    }""")
    chat = Webchat(page, "support").open()
    chat.button("Close the chat").click()
    expect(chat.panel).to_be_hidden()
    expect(chat.part("arbor-launcher")).to_be_focused()
    expect(events_box(page)).to_have_text(["support: close-chat"])
    assert page.evaluate("heard") == ["close-chat"]
    chat.open().expect_bot("Goodbye!")


def test_user_data_from_the_page_reaches_the_bot_at_start_and_after_starting_over(page: Page, live):
    page.goto(live.demo("lead-capture"))
    page.get_by_label("Your name").fill("Eva")
    page.get_by_role("button", name="Tell the bot").click()
    chat = Webchat(page, "lead-capture").open()
    chat.expect_bot("Hi Eva!")

    page.get_by_label("Your name").fill("Adam")
    page.get_by_role("button", name="Tell the bot").click()  # during the chat: kept in the bot's user data
    chat.part("arbor-restart").click()
    chat.expect_bot("Hi Adam!")
    expect(chat.messages("bot").filter(has_text="Hi Eva!")).to_have_count(0)


def test_the_javascript_api_starts_a_chat_with_user_data_and_a_theme(page: Page, live):
    page.goto(live.demo("support"))
    page.evaluate("""() => Arbor.webchat({bot: 'lead-capture', title: 'Sales', user: {name: 'Eva'}, open: true,
                                          theme: {color: 'rgb(120, 20, 90)', position: 'left'}})""")
    chat = Webchat(page, "lead-capture")
    expect(chat.panel).to_be_visible()
    expect(chat.panel).to_have_accessible_name("Sales")
    chat.expect_bot("Hi Eva!")
    launcher = chat.part("arbor-launcher")
    expect(launcher).to_have_css("background-color", "rgb(120, 20, 90)")
    assert launcher.bounding_box()["x"] < 200  # on the left
    chat.part("arbor-input").press("Escape")
    expect(chat.panel).to_be_hidden()


def test_markup_in_messages_is_shown_as_text_and_never_runs(page: Page, live):
    attack = '**Eva** <img src=x onerror="window.pwned=1"> [win](javascript:window.pwned=1) https://example.com/x'
    page.goto(live.demo("lead-capture"))
    page.get_by_label("Your name").fill(attack)
    page.get_by_role("button", name="Tell the bot").click()
    chat = Webchat(page, "lead-capture").open()
    greeting = chat.expect_bot('<img src=x onerror="window.pwned=1">')
    expect(greeting.locator("strong")).to_have_text("Eva")  # the markdown subset still works
    expect(greeting).to_contain_text(" win ")  # the javascript: link keeps its words, not its target
    expect(greeting.get_by_role("link")).to_have_attribute("href", "https://example.com/x")  # the only link

    chat.button("Book a demo").click()
    chat.expect_bot("What is your name?")
    chat.say("<script>window.pwned=1</script>")
    chat.expect_bot("Thanks, <script>window.pwned=1</script>. Your e-mail?")
    expect(chat.host.locator("img, script")).to_have_count(0)
    expect(chat.host.locator('a[href^="javascript"]')).to_have_count(0)
    assert page.evaluate("window.pwned") is None


def test_two_bots_on_one_page_each_have_their_own_chat(page: Page, live):
    page.goto(live.demo("support"))
    page.evaluate("""() => {  // a second tag, as a site with two bots would have
        const tag = Object.assign(document.createElement('script'), {src: '/static/webchat.js', async: true});
        Object.assign(tag.dataset, {bot: 'lead-capture', title: 'Sales'});
        document.body.append(tag);
    }""")
    support, sales = Webchat(page, "support"), Webchat(page, "lead-capture")
    expect(page.get_by_test_id("arbor-launcher")).to_have_count(2)

    support.open().expect_bot("I am the support bot.")
    sales.open().expect_bot("I am Arbor's demo assistant.")
    expect(support.panel).to_be_hidden()  # one floating chat open at a time
    sales.button("Just looking").click()
    sales.expect_bot("Take your time.")
    support.open().button("Track an order").click()
    support.expect_bot("What is your order number?")
    expect(support.messages().filter(has_text="Take your time")).to_have_count(0)
    expect(sales.messages().filter(has_text="support bot")).to_have_count(0)
    expect(sales.messages()).to_have_count(4)


def test_a_chat_drawn_inside_an_element_and_destroyed(page: Page, live):
    page.goto(live.demo("support"))
    page.evaluate("""() => {
        document.querySelector('main').insertAdjacentHTML('afterbegin', '<div id="box" style="height: 400px"></div>');
        window.chat = Arbor.webchat({bot: 'lead-capture', container: '#box', title: 'Sales'});
    }""")
    chat = Webchat(page, "lead-capture")
    expect(page.locator("#box arbor-webchat")).to_have_count(1)
    expect(chat.panel).to_be_visible()
    expect(chat.part("arbor-launcher")).to_be_hidden()
    expect(chat.part("arbor-close")).to_be_hidden()
    chat.expect_bot("What brings you here?")
    page.evaluate("chat.destroy()")
    expect(chat.host).to_have_count(0)
    assert page.evaluate("Arbor.get('lead-capture')") is None


def _overflow(element) -> dict:
    """How far (px) the element's box and the suggested buttons' row reach beyond the log's and the panel's
    visible areas; 0 when they are inside."""
    return element.evaluate("""(node) => {
        const root = node.getRootNode();
        const log = root.querySelector('[data-testid=arbor-log]').getBoundingClientRect();
        const panel = root.querySelector('[data-testid=arbor-panel]').getBoundingClientRect();
        const box = node.getBoundingClientRect();
        const actions = root.querySelector('[data-testid=arbor-actions]').getBoundingClientRect();
        return {message_below_log: Math.max(0, Math.round(box.bottom - log.bottom)),
                message_above_log: Math.max(0, Math.round(log.top - box.top)),
                buttons_below_panel: Math.max(0, Math.round(actions.bottom - panel.bottom))};
    }""")


def test_a_reply_with_buttons_scrolls_the_conversation_to_its_last_message(page: Page, live):
    page.goto(live.demo("support"))
    chat = Webchat(page, "support").open()
    chat.expect_bot("How can I help?")
    for order in ("AB1234", "CD5678"):  # each round ends with the greeting and its buttons again
        chat.button("Track an order").click()
        chat.expect_bot("What is your order number?")
        chat.say(order)
        chat.expect_bot(f"Order {order} is on its way.")
        last = chat.expect_bot("How can I help?")
        expect(chat.part("arbor-button")).to_have_count(4)
    log = chat.part("arbor-log")
    assert log.evaluate("(log) => log.scrollHeight > log.clientHeight")  # the conversation overflows its log
    assert _overflow(last) == {"message_below_log": 0, "message_above_log": 0, "buttons_below_panel": 0}
    expect(chat.messages().last).to_be_in_viewport(ratio=1)
    expect(chat.part("arbor-button").last).to_be_in_viewport(ratio=1)
