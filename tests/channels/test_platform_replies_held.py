"""Replies owed to a platform connection when it is switched off wait, and go out in order once it is
re-verified (issue 16, bug 2): the failures that switch it off do not mark the replies still queued behind
them as failed ("Not sent: the subscription was switched off"), as they do for a webhook subscription."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from platform_samples import BOT, message

from runtime.channels.platforms import connections
from runtime.store.bots import import_bot
from runtime.webhooks import delivery


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_replies_queued_when_the_connection_is_switched_off_go_out_in_order_on_reverify(app, client, jobs,
                                                                                       receiver):
    with app.app_context():
        import_bot(BOT, publish=True)
        token = connections.create("pbot", "acme", "Acme CX", receiver.url).token
    headers = {"Authorization": f"Bearer {token}"}
    receiver.answers = [(500, {})] * 5 + [(400, {})] * 4  # the first reply fails for good, then four more
    client.post("/b/pbot/hooks/acme", json=message("Tea", "m1"), headers=headers)  # 5 replies
    client.post("/b/pbot/hooks/acme", json=message("Coffee", "m2"), headers=headers)  # 3 more, queued behind
    jobs.drain()
    for minutes in (2, 7, 23, 66):
        jobs.drain(until=later(minutes))
    with app.app_context():
        shown = connections.get("pbot", "acme")
        log = delivery.deliveries_of(shown["targetId"], limit=20)
    assert shown["status"] == "inactive"
    held = sorted((entry for entry in log if entry["status"] == "pending"), key=lambda entry: entry["id"])
    assert len(held) == 3 and not any("switched off" in (entry["lastError"] or "") for entry in log)
    sent = len(receiver.requests)
    with app.app_context():
        connections.reverify("pbot", "acme")
    jobs.drain()
    assert [body["text"] for _, _, body in receiver.requests[sent:]] == [
        "One coffee coming.", "Welcome to Acme.", "Tea or coffee?"]  # owed, in order
