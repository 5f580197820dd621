"""The bot the load faults (Redis, the database, the web worker) talk to, and how what its turns owe is counted.

Every message the visitor sends owes two effects that leave Arbor: an outgoing webhook (`message.received`, to
the outside server) and an e-mail (`Noted <text>`, to the real SMTP server). A copy under the same Webhook-Id or
Message-ID is a redelivery; a second id for one message is a double.
"""

from __future__ import annotations

import json
from collections import defaultdict

from runtime.channels.directline.secret import reveal
from runtime.management import settings
from runtime.store.bots import import_bot
from runtime.webhooks import subscriptions

BOT = {"format": 1, "id": "notes", "name": "Notes", "start": "main", "dialogs": [{"id": "main", "steps": [
    {"id": "q", "type": "question", "text": "Say something.", "storage": "said"},
    {"id": "e", "type": "email", "to": "eva@example.com", "subject": "Noted {{ said }}", "body": "{{ said }}"},
    {"id": "m", "type": "message", "text": "Noted: {{ said }}"},
    {"id": "g", "type": "goto", "dialog": "main", "mode": "jump"}]}]}


def set_up(app, outside, smtp_port: int) -> str:
    """The bot published, its webhook subscribed and its SMTP server set; its Direct Line secret."""
    with app.app_context():
        import_bot(BOT, publish=True)
        subscriptions.create("notes", outside.url("/hooks"), ["message.received"])
        settings.set_smtp("notes", host="127.0.0.1", port=smtp_port, security="none", sender="bot@shop.example")
        return reveal("notes")[0]


def count_effects(count, texts: list[str], outside, inbox) -> str:
    """Into the tally: two effects owed per message taken, done when they arrived, doubled per extra id.
    Returns a note on redeliveries."""
    hooks, mails = defaultdict(set), defaultdict(set)
    posts = 0
    for headers, body in outside.to("/hooks"):
        sent = json.loads(body)
        if sent["type"] == "message.received":
            posts += 1
            hooks[sent["data"]["activity"].get("text")].add(headers["Webhook-Id"])
    for message in inbox.messages:
        mails[message["Subject"].removeprefix("Noted ")].add(message["Message-ID"])
    for text in texts:
        for ids in (hooks[text], mails[text]):
            count.owed += 1
            count.done += bool(ids)
            count.doubled += max(len(ids) - 1, 0)
    return f"{posts} webhook posts, {len(inbox.messages)} e-mails"
