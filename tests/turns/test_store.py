"""The bot and conversation stores on a real, migrated database (SQLite, or PostgreSQL by DATABASE_URL)."""

from __future__ import annotations

import copy
import logging
import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from runtime.botdoc import DocumentError
from runtime.extensions import db
from runtime.jobs.timers import ConversationTimer
from runtime.steps.base import Input
from runtime.store import bots as store
from runtime.store.models import BotUser, BotVersion, Conversation, NlpLogEntry, TranscriptEntry
from runtime.turns import effects
from runtime.turns.outbox import PendingEffect
from runtime.turns.transcript import transcript
from runtime.turns.turn import ConversationNotFound, handle, start_conversation


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def texts(activities: list[dict]) -> list[str]:
    return [a["text"] for a in activities if a.get("type") == "message" and "text" in a]


def say(conversation_id: str, text: str, key: str | None = None) -> list[dict]:
    """What WebChat posts for a typed message (see DIRECTLINE.md), applied through the store."""
    activity = {"type": "message", "text": text, "textFormat": "plain", "channelId": "webchat",
                "from": {"id": "u1", "name": "", "role": "user"},
                "channelData": {"clientActivityID": key, "attachmentSizes": []}}
    return handle(conversation_id, Input.message(text), client_key=key, inbound_activity=activity)


def test_import_publish_and_immutable_versions(bots, ctx):
    doc = bots.load("store-basics")
    bot = store.get_bot("store-basics")
    assert (bot.name, bot.published_version, bot.draft_revision) == ("Store basics", 1, 1)

    edited = copy.deepcopy(doc) | {"name": "Store basics 2"}
    store.import_bot(edited)
    assert (bot.name, bot.published_version, bot.draft_revision) == ("Store basics 2", 1, 2)
    version = store.publish("store-basics", note="renamed", by="eva")
    assert (version.number, version.note, version.created_by) == (2, "renamed", "eva")
    assert store.get_version_doc("store-basics", 1)["name"] == "Store basics"
    assert store.get_version_doc("store-basics")["name"] == "Store basics 2"
    assert store.get_version_doc("store-basics", store.DRAFT) == bot.draft
    assert [b.id for b in store.list_bots()] == ["store-basics"]

    first = db.session.scalar(select(BotVersion).where(BotVersion.number == 1))
    first.document = edited
    with pytest.raises(ValueError, match="cannot change"):
        db.session.commit()
    db.session.rollback()
    assert store.get_version_doc("store-basics", 1)["name"] == "Store basics"
    with pytest.raises(store.BotNotPublished):
        store.get_version_doc("store-basics", 3)


def test_invalid_document_never_replaces_the_valid_draft(bots, ctx):
    doc = bots.load("store-basics", publish=False)
    broken = copy.deepcopy(doc)
    broken["dialogs"][0]["steps"].append({"id": "sb-x", "type": "goto", "dialog": "nowhere"})
    with pytest.raises(DocumentError):
        store.import_bot(broken)
    bot = store.get_bot("store-basics")
    assert bot.draft_revision == 1
    assert [s["id"] for s in bot.draft["dialogs"][0]["steps"]][-1] == "sb-w6"
    assert bot.published_version is None


def test_a_bot_runs_only_when_published_or_as_draft(bots, ctx):
    bots.load("store-basics", publish=False)
    with pytest.raises(store.BotNotPublished):
        start_conversation("store-basics", "u1", "webchat")
    with pytest.raises(store.BotNotFound):
        start_conversation("nobody", "u1", "webchat")
    conversation, activities = start_conversation("store-basics", "u1", "webchat", version=store.DRAFT)
    assert texts(activities) == ["Hi there!", "Your e-mail?"]
    assert conversation.bot_version == store.DRAFT
    edited = copy.deepcopy(store.get_bot("store-basics").draft)
    edited["dialogs"][0]["steps"][1]["retry"] = "Saved again: that is no e-mail address."
    store.import_bot(edited)  # the preview runs the draft as it is now
    assert texts(say(conversation.id, "nope")) == ["Saved again: that is no e-mail address."]
    with pytest.raises(ConversationNotFound):
        handle("nothing-here", Input.message("hi"))


def test_a_conversation_of_a_few_turns(bots, ctx):
    bots.load("store-basics")
    conversation, activities = start_conversation("store-basics", "u1", "webchat", data={"name": "Eva"})
    assert texts(activities) == ["Hi Eva!", "Your e-mail?"]
    assert texts(say(conversation.id, "not an address")) == ["That does not look like an e-mail address."]
    asked = say(conversation.id, "eva@example.com")
    assert texts(asked) == ["What do you need?"]
    assert [a["title"] for a in asked[0]["suggestedActions"]["actions"]] == ["A loan", "Talk to a person"]
    assert texts(say(conversation.id, "A loan")) == ["Loans it is. We will write to eva@example.com."]

    user = db.session.get(BotUser, ("store-basics", "u1"))
    assert user.data == {"name": "Eva", "email": "eva@example.com", "topic": "loan"}
    assert user.last_message_at is not None
    assert db.session.get(Conversation, conversation.id).state["ended"] is True


def test_transcript_order_and_stamps(bots, ctx):
    bots.load("store-basics")
    conversation, _ = start_conversation("store-basics", "u1", "webchat")
    say(conversation.id, "eva@example.com", key="c-1")
    handle(conversation.id, Input.message("A loan"))  # no inbound activity: one is built from the input

    activities = transcript(conversation.id)
    assert [a["id"] for a in activities] == [f"{conversation.id}|{seq:07d}" for seq in range(1, 7)]
    moments = [datetime.fromisoformat(a["timestamp"]) for a in activities]
    assert moments == sorted(set(moments)) and all(a["timestamp"].endswith("Z") for a in activities)
    assert all(a["conversation"] == {"id": conversation.id} for a in activities)
    assert all(a["channelId"] == "webchat" for a in activities)

    directions = [row.direction for row in db.session.scalars(
        select(TranscriptEntry).where(TranscriptEntry.conversation_id == conversation.id)
        .order_by(TranscriptEntry.seq))]
    assert directions == ["out", "out", "in", "out", "in", "out"]
    bot_says, said, built = activities[0], activities[2], activities[4]
    assert bot_says["from"] == {"id": "store-basics", "name": "Store basics", "role": "bot"}
    assert said["from"] == {"id": "u1", "name": "", "role": "user"}
    assert said["channelData"]["clientActivityID"] == "c-1" and said["textFormat"] == "plain"
    assert built == {**built, "type": "message", "text": "A loan", "from": {"id": "u1", "role": "user"}}
    assert activities[3]["replyToId"] == said["id"]
    assert "replyToId" not in bot_says

    assert transcript(conversation.id, after_seq=4) == activities[4:]
    assert db.session.get(Conversation, conversation.id).activity_seq == 6


def test_an_input_seen_before_is_not_applied_again(bots, ctx):
    bots.load("store-basics")
    conversation, _ = start_conversation("store-basics", "u1", "webchat")
    first = say(conversation.id, "eva@example.com", key="same")
    again = say(conversation.id, "eva@example.com", key="same")
    assert again == first and texts(again) == ["What do you need?"]
    assert len(transcript(conversation.id)) == 4
    say(conversation.id, "A loan", key="next")
    assert say(conversation.id, "eva@example.com", key="same") == first


def test_a_bot_republished_under_a_conversation_goes_on(bots, ctx, caplog):
    doc = bots.load("store-basics")
    conversation, _ = start_conversation("store-basics", "u1", "webchat")
    say(conversation.id, "eva@example.com")  # now waits at the choice sb-w3

    edited = copy.deepcopy(doc)
    edited["dialogs"][0]["steps"][2] = {"id": "sb-w3b", "type": "question", "text": "Your phone?",
                                        "storage": "phone", "validate": "phone"}
    store.import_bot(edited, publish=True)
    with caplog.at_level(logging.ERROR, logger="runtime.turns.turn"):
        assert texts(say(conversation.id, "A loan")) == ["Hi there!", "Your e-mail?"]  # the dialog restarted
    assert "changed under this conversation" in caplog.text
    assert db.session.get(Conversation, conversation.id).bot_version == 2
    assert texts(say(conversation.id, "eva@example.com")) == ["Your phone?"]


def test_not_understood_inputs_are_written_to_the_nlp_log(bots, ctx):
    bots.load("store-basics")
    conversation, _ = start_conversation("store-basics", "u1", "webchat")
    say(conversation.id, "eva@example.com")
    assert texts(say(conversation.id, "pizza"))[0] == "Sorry, I did not get that."
    row = db.session.scalars(select(NlpLogEntry)).one()
    assert (row.bot_id, row.user_id, row.conversation_id) == ("store-basics", "u1", conversation.id)
    assert (row.dialog_id, row.step_id, row.step_type, row.query) == ("welcome", "sb-w3", "choice", "pizza")
    assert (row.model_id, row.processed, row.intent) == ("fuzzy", False, None)


def test_effects_are_handed_on_after_the_turn_and_arbor_inputs_are_kept(app, bots):
    bots.load("store-wait")
    announced = []

    def record(committed, effect: dict) -> None:
        announced.append((committed.conversation.id, effect))

    registry = effects.registry(app)
    registry.after_commit("timer.start", record, durable=False)
    registry.after_commit("timer.cancel", record, durable=False)
    with app.app_context():
        paying, _ = start_conversation("store-wait", "u1", "webchat")
        assert announced == [(paying.id, {"type": "timer.start", "step": "sw-2", "seconds": 600})]
        assert texts(handle(paying.id, Input.event("paid", {"order": 7}))) == ["Thank you!"]
        assert announced[-1] == (paying.id, {"type": "timer.cancel", "step": "sw-2"})
        assert transcript(paying.id)[1] | {"id": "", "timestamp": ""} == {
            "type": "event", "name": "paid", "value": {"order": 7}, "from": {"id": "u1", "role": "user"},
            "id": "", "timestamp": "", "conversation": {"id": paying.id}, "channelId": "webchat"}

        idle, _ = start_conversation("store-wait", "u2", "webchat")
        late = handle(idle.id, Input.timeout("sw-2"))
        assert texts(late) == ["Still there?"] and "replyToId" not in late[0]
        timer = transcript(idle.id)[1]
        assert (timer["name"], timer["value"], timer["from"]) == ("arbor.timeout", {"step": "sw-2"},
                                                                  {"id": "arbor", "role": "channel"})
        assert db.session.get(BotUser, ("store-wait", "u2")).last_message_at is None
    assert len(announced) == 3


def at_once(app, threads: int, work) -> list[BaseException]:
    """Run work(t) in `threads` threads, each in its own app context, released together; their failures."""
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def run(t: int) -> None:
        try:
            with app.app_context():
                start.wait()
                work(t)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return failures


def test_concurrent_inputs_lose_none_and_apply_none_twice(app, bots):
    """20 threads send 50 messages each to one conversation at once, each also re-sending its last one."""
    bots.load("counter")
    with app.app_context():
        conversation_id = start_conversation("counter", "u1", "webchat")[0].id
    threads, per_thread = 20, 50
    replies: dict[str, list[str]] = {}

    def user(t: int) -> None:
        for i in range(per_thread):
            key = f"t{t}-m{i}"
            replies[key] = [a["id"] for a in say(conversation_id, key, key=key)]
            if i % 10 == 9:  # a client retrying a post it already made
                assert [a["id"] for a in say(conversation_id, key, key=key)] == replies[key]

    assert at_once(app, threads, user) == []

    total = threads * per_thread
    with app.app_context():
        assert db.session.get(BotUser, ("counter", "u1")).data["count"] == total
        rows = db.session.scalars(select(TranscriptEntry).order_by(TranscriptEntry.seq)).all()
        inbound = [row for row in rows if row.direction == "in"]
        assert len(inbound) == total and len({row.client_key for row in inbound}) == total
        assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
        assert db.session.get(Conversation, conversation_id).activity_seq == len(rows)
        echoes = [row.activity["text"] for row in rows if row.direction == "out" and
                  row.activity["text"].startswith("Got ")]
        assert sorted(echoes) == sorted(f"Got {key}" for key in replies)
        by_id = {row.activity["id"]: row.activity for row in rows}
        assert all(texts([by_id[i] for i in ids]) == [f"Got {key}", "Say something."]
                   for key, ids in replies.items())
        assert db.session.scalar(select(func.count()).select_from(NlpLogEntry)) == 0


def test_conversations_started_at_once_by_one_new_user_keep_all_their_data(app, bots):
    """Ten conversations of one user start at once: one user row, the page data of each one kept."""
    bots.load("store-basics")
    threads = 10

    def open_chat(t: int) -> None:
        start_conversation("store-basics", "u1", f"channel-{t}", data={f"page{t}": t})

    assert at_once(app, threads, open_chat) == []
    with app.app_context():
        assert db.session.get(BotUser, ("store-basics", "u1")).data == {f"page{t}": t for t in range(threads)}
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == threads


def test_what_a_turn_owes_is_done_at_once_and_leaves_no_outbox_row(app, bots):
    """The wait step's timer is owed with the turn (a row of the turns' outbox) and carried out by the process
    that ran the turn right after the commit: its timer row stands, the outbox is empty again."""
    bots.load("store-wait")
    with app.app_context():
        conversation, _ = start_conversation("store-wait", "u1", "webchat")
        assert db.session.get(ConversationTimer, (conversation.id, "sw-2")) is not None
        assert db.session.query(PendingEffect).count() == 0
