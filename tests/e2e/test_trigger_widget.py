"""The loyalty-transfer story in a real browser: the customer's system calls the trigger API and the user
sees the confirmation, with the transaction's details, in the widget that is open on the page."""

from __future__ import annotations

import pytest
import requests
from golden import load_doc
from playwright.sync_api import Page
from sqlalchemy import select
from widget import Widget

from runtime.channels.directline.cors import set_allowed_origins
from runtime.extensions import db
from runtime.management.keys import create_key
from runtime.management.trigger import address_of
from runtime.store.bots import import_bot
from runtime.store.models import Conversation

pytestmark = pytest.mark.e2e


def test_a_triggered_dialog_appears_in_the_open_widget(page: Page, live):
    with live.app.app_context():
        import_bot(load_doc("loyalty"), publish=True)
        set_allowed_origins("loyalty", [live.url])
        key = create_key("loyalty", "crm-e2e")[1]
    page.goto(live.demo("loyalty"))
    chat = Widget(page, "loyalty").open()
    chat.bot_said("Move your points to a partner?")
    chat.button("Yes").click()
    chat.bot_said("Your transfer has started.")
    chat.bot_said("Anything else I can do?")

    with live.app.app_context():  # the address the designer shows for this user
        conversation = db.session.scalars(select(Conversation).where(Conversation.bot_id == "loyalty")
                                          .order_by(Conversation.created_at.desc())).first()
        address = address_of(conversation)
    answer = requests.post(f"{live.url}/b/loyalty/api/management/trigger/{address}/transfer-complete",
                           params={"code": key}, timeout=10,
                           json={"transaction": {"id": "T-77", "points": 1200, "partner": "SkyMiles"}})
    assert answer.status_code == 202 and answer.json()["conversationId"] == conversation.id

    chat.bot_said("Transfer T-77 is complete: 1200 points went to SkyMiles.")  # no reload, no typing
    chat.say("That is all")
    chat.bot_said("Noted: That is all.")
