"""The agent console in the designer: the agent role sees the console only, the queue partial, accepting (and
losing a race), the transcript after a watermark, replying, canned answers, closing, and who may see what."""

from __future__ import annotations

import queue
import re
import threading

import pytest
from designer_client import Designer

from runtime.extensions import db
from runtime.steps.base import Input
from runtime.store import canned, handovers
from runtime.store.models import HandoverSession
from runtime.turns.transcript import transcript
from runtime.turns.turn import handle, start_conversation

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def admin(app) -> Designer:
    return Designer(app, app.test_client()).sign_in("admin@example.com", "admin pass", role="admin")


@pytest.fixture
def alice(app, admin) -> Designer:
    agent = Designer(app, app.test_client()).sign_in("alice@example.com", "alice's pass", role="agent")
    assert admin.post("/designer/bots/help-desk/people", {"email": "alice@example.com"}).status_code == 302
    return agent


@pytest.fixture
def bob(app, admin) -> Designer:
    agent = Designer(app, app.test_client()).sign_in("bob@example.com", "bob's pass", role="agent")
    assert admin.post("/designer/bots/help-desk/people", {"email": "bob@example.com"}).status_code == 302
    return agent


@pytest.fixture
def desk(bots):
    bots.load("help-desk")


def handed_over(app, user: str = "u1", name: str = "Eva") -> tuple[str, str]:
    """A help-desk conversation just handed to people: (conversation id, session id)."""
    with app.app_context():
        conversation, _ = start_conversation("help-desk", user, "webchat")
        handle(conversation.id, Input.message(name))
        handle(conversation.id, Input.message("Talk to a person"))
        session = handovers.open_of(conversation.id)
        db.session.remove()
        return conversation.id, session.id


def user_says(app, conversation_id: str, text: str) -> None:
    with app.app_context():
        handle(conversation_id, Input.message(text))
        db.session.remove()


def htmx(designer: Designer, path: str, **query):
    return designer.client.get(path, query_string=query, headers={"HX-Request": "true"})


def hx_post(designer: Designer, path: str, data: dict):
    return designer.client.post(path, data=data, headers={"HX-Request": "true", "X-CSRFToken": designer.token})


def test_an_agent_signs_in_to_the_console_and_every_other_page_refuses_them(app, desk, alice):
    signed = Designer(app, app.test_client())
    signed.csrf()
    response = signed.client.post("/designer/signin", data={"csrf_token": signed.token, "email": "alice@example.com",
                                                            "password": "alice's pass"})
    assert response.location.endswith("/designer/agents")
    console = alice.client.get("/designer/agents")
    assert console.status_code == 200 and "Agent console" in console.text
    assert ">Bots</a>" not in console.text and "/designer/users" not in console.text  # the navigation has the console
    refused = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("designer.") or rule.endpoint.startswith("designer.console") \
                or rule.endpoint in ("designer.signin", "designer.first_run", "designer.signout", "designer.static"):
            continue
        path = re.sub(r"<(?:(?:big)?int:)?(\w+)>", lambda m: "help-desk" if m[1] == "bot_id" else
                      ("1" if "int:" in m[0] else "x"), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = alice.client.open(path, method=method, data={"csrf_token": alice.token})
            assert response.status_code == 403, (method, path, response.status_code)
            assert "not part of the agent console" in response.text and "Open the agent console" in response.text
            refused.append(path)
    assert "/designer/bots/help-desk/edit" in refused and "/designer/" in refused and len(refused) > 40
    htmx_refused = htmx(alice, "/designer/bots/help-desk/edit")
    assert htmx_refused.status_code == 403 and "<html" not in htmx_refused.text


def test_the_queue_shows_waiting_and_active_sessions_oldest_first(app, desk, alice, bob):
    assert 'data-testid="agent-queue-empty"' in htmx(alice, "/designer/agents/queue").text
    _, first = handed_over(app, "u1")
    _, second = handed_over(app, "u2")
    with app.app_context():
        handovers.accept(second, {"id": "designer:999", "name": "Carol"})
        db.session.remove()
    queue = htmx(alice, "/designer/agents/queue")
    assert queue.status_code == 200 and "<html" not in queue.text
    rows = re.findall(r'data-session="(\w+)" data-status="(\w+)"', queue.text)
    assert rows == [(first, "waiting"), (second, "active")]
    assert "Help desk" in queue.text and "support" in queue.text and "Carol" in queue.text
    assert queue.text.count(">Accept</button>") == 1
    version = re.search(r"queue\?v=(\w+)", queue.text).group(1)
    assert htmx(alice, "/designer/agents/queue", v=version).status_code == 204  # nothing changed: nothing sent
    _, third = handed_over(app, "u3")
    changed = htmx(alice, "/designer/agents/queue", v=version)
    assert changed.status_code == 200 and third in changed.text


def test_accept_and_the_agent_who_lost_the_race_is_told_who_won(app, desk, alice, bob):
    _, session_id = handed_over(app)
    won = alice.post(f"/designer/agents/{session_id}/accept")
    assert won.status_code == 302 and won.location.endswith(f"/designer/agents/{session_id}")
    lost = bob.post(f"/designer/agents/{session_id}/accept")
    assert lost.status_code == 409 and "Alice accepted this conversation already." in lost.text
    assert "Alice" in htmx(bob, "/designer/agents/queue").text
    page = bob.client.get(f"/designer/agents/{session_id}")
    assert page.status_code == 200 and "Alice has it" in page.text and 'id="reply-text"' not in page.text


def test_the_conversation_view_shows_everything_escaped_and_new_messages_after_the_watermark(app, desk, alice):
    conversation_id, session_id = handed_over(app, name=XSS)
    user_says(app, conversation_id, f"Help! {XSS}")
    alice.post(f"/designer/agents/{session_id}/accept")
    page = alice.client.get(f"/designer/agents/{session_id}")
    assert page.status_code == 200
    assert XSS not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    kinds = re.findall(r'<li class="entry (\w+)" data-kind="\w+"', page.text)
    assert kinds == ["bot", "user", "bot", "user", "bot", "user", "notice"]
    assert 'data-notice="agent-joined"' in page.text and "Alice joined the conversation." in page.text
    assert 'data-testid="user-data"' in page.text and ">name</th>" in page.text  # the user data, key and value
    after = re.search(r'transcript\?after=(\d+)&amp;status=active', page.text).group(1)

    assert htmx(alice, f"/designer/agents/{session_id}/transcript", after=after, status="active").status_code == 204
    user_says(app, conversation_id, "Are you there?")
    update = htmx(alice, f"/designer/agents/{session_id}/transcript", after=after, status="active")
    assert update.status_code == 200 and "Are you there?" in update.text and "Help!" not in update.text
    assert 'hx-swap-oob="beforeend:#transcript"' in update.text and 'id="session-state"' not in update.text
    newer = re.search(r'transcript\?after=(\d+)', update.text).group(1)
    assert int(newer) > int(after)
    assert htmx(alice, f"/designer/agents/{session_id}/transcript", after=newer, status="active").status_code == 204


def test_reply_canned_answer_and_close_land_in_the_transcript_in_order(app, desk, admin, alice):
    conversation_id, session_id = handed_over(app)
    assert admin.post("/designer/bots/help-desk/canned", {"text": "Let me check that for you."}).status_code == 302
    alice.post(f"/designer/agents/{session_id}/accept")
    page = alice.client.get(f"/designer/agents/{session_id}")
    assert "Let me check that for you." in page.text  # a one-click button

    sent = hx_post(alice, f"/designer/agents/{session_id}/reply", {"text": "Hello Eva, Alice here."})
    assert sent.status_code == 200 and sent.headers["HX-Trigger"] == "transcript-changed"
    assert hx_post(alice, f"/designer/agents/{session_id}/reply", {"text": "Let me check that for you."}) \
        .status_code == 200
    empty = hx_post(alice, f"/designer/agents/{session_id}/reply", {"text": "  "})
    assert empty.status_code == 400 and "Write a message first." in empty.text
    too_long = hx_post(alice, f"/designer/agents/{session_id}/reply", {"text": "x" * 4001})
    assert too_long.status_code == 400 and "at most 4000 characters" in too_long.text
    nul = hx_post(alice, f"/designer/agents/{session_id}/reply", {"text": "a\x00b"})  # PostgreSQL keeps no NUL
    assert nul.status_code == 400 and "NUL characters" in nul.text
    user_says(app, conversation_id, "Thanks")

    closed = alice.post(f"/designer/agents/{session_id}/close", follow_redirects=True)
    assert closed.status_code == 200 and "The bot has taken over the conversation again." in closed.text
    assert 'data-testid="session-closed"' in closed.text and 'id="reply-text"' not in closed.text
    late = hx_post(alice, f"/designer/agents/{session_id}/reply", {"text": "One more thing"})
    assert late.status_code == 409 and "This handover was closed by Alice; nothing more can be sent in it." in late.text
    again = alice.post(f"/designer/agents/{session_id}/close")
    assert again.status_code == 409 and "This handover was closed by Alice" in again.text

    with app.app_context():
        said = [(a["from"]["role"], a["text"]) for a in transcript(conversation_id) if a["type"] == "message"]
        agent_message = next(a for a in transcript(conversation_id) if a.get("text") == "Hello Eva, Alice here.")
        db.session.remove()
    assert said[-6:] == [("bot", "Hello Eva, Alice here."), ("bot", "Let me check that for you."), ("user", "Thanks"),
                         ("bot", "Alice left the conversation."), ("bot", "Welcome back, Eva. Anything else?"),
                         ("bot", "Type anything.")]
    assert agent_message["from"]["id"].startswith("agent:designer:")
    assert agent_message["channelData"]["arbor"]["agent"] == "Alice"


def test_only_the_holder_or_an_admin_replies_and_closes(app, desk, admin, alice, bob):
    _, session_id = handed_over(app)
    waiting = hx_post(alice, f"/designer/agents/{session_id}/reply", {"text": "too early"})
    assert waiting.status_code == 409 and "Accept the conversation before you reply." in waiting.text
    alice.post(f"/designer/agents/{session_id}/accept")
    theirs = hx_post(bob, f"/designer/agents/{session_id}/reply", {"text": "mine now"})
    assert theirs.status_code == 409 and "Alice accepted this conversation already." in theirs.text
    refused = bob.post(f"/designer/agents/{session_id}/close")
    assert refused.status_code == 409 and "only they or an administrator can close it" in refused.text
    assert admin.post(f"/designer/agents/{session_id}/close").status_code == 302
    with app.app_context():
        assert handovers.get(session_id).closed_by == "Admin"
        db.session.remove()


def test_an_agent_without_access_to_the_bot_sees_neither_its_queue_nor_its_conversations(app, desk, admin):
    otto = Designer(app, app.test_client()).sign_in("otto@example.com", "otto's pass", role="agent")
    editor = Designer(app, app.test_client()).sign_in("eve@example.com", "eve's pass", role="editor")
    _, session_id = handed_over(app)
    for outsider in (otto, editor):
        empty = htmx(outsider, "/designer/agents/queue").text
        assert 'data-testid="agent-queue-empty"' in empty and "You answer for no bot yet" in empty
        for method, path in (("GET", ""), ("GET", "/transcript"), ("POST", "/accept"), ("POST", "/reply"),
                             ("POST", "/close")):
            response = outsider.client.open(f"/designer/agents/{session_id}{path}", method=method,
                                            data={"csrf_token": outsider.token, "text": "hi"})
            assert response.status_code == 404, (path, response.status_code)
            assert f"There is no handover &#39;{session_id}&#39;" in response.text
    with app.app_context():
        assert handovers.get(session_id).status == "waiting"
        db.session.remove()
    # An editor of the bot uses the console for it too; an admin for every bot.
    assert admin.post("/designer/bots/help-desk/people", {"email": "eve@example.com"}).status_code == 302
    assert session_id in htmx(editor, "/designer/agents/queue").text
    assert session_id in htmx(admin, "/designer/agents/queue").text
    assert htmx(otto, "/designer/agents/nope").status_code == 404


def test_writes_need_the_csrf_token(app, desk, alice):
    _, session_id = handed_over(app)
    refused = alice.client.post(f"/designer/agents/{session_id}/accept")
    assert refused.status_code == 400
    with app.app_context():
        assert handovers.get(session_id).status == "waiting"
        db.session.remove()


def test_admins_edit_the_canned_answers_on_the_settings_page(app, desk, admin, alice):
    editor = Designer(app, app.test_client()).sign_in("eve@example.com", "eve's pass", role="editor")
    assert admin.post("/designer/bots/help-desk/people", {"email": "eve@example.com"}).status_code == 302
    settings = admin.client.get("/designer/bots/help-desk/settings").text
    assert 'id="canned"' in settings and '<span class="pill">agent</span>' in settings  # Alice, on the People card
    assert 'id="canned"' not in editor.client.get("/designer/bots/help-desk/settings").text
    assert editor.post("/designer/bots/help-desk/canned", {"text": "Hi"}).status_code == 403
    assert alice.post("/designer/bots/help-desk/canned", {"text": "Hi"}).status_code == 403

    for text in ("Hello! How can I help?", "<b>One moment</b>"):
        assert admin.post("/designer/bots/help-desk/canned", {"text": text}).status_code == 302
    twin = admin.post("/designer/bots/help-desk/canned", {"text": "Hello! How can I help?"})
    assert twin.status_code == 422 and "on the list already" in twin.text
    empty = admin.post("/designer/bots/help-desk/canned", {"text": " "})
    assert empty.status_code == 422 and "Write the answer first." in empty.text
    long = admin.post("/designer/bots/help-desk/canned", {"text": "x" * 4001})
    assert long.status_code == 422 and "at most 4000 characters" in long.text
    page = admin.client.get("/designer/bots/help-desk/settings")
    assert "&lt;b&gt;One moment&lt;/b&gt;" in page.text and "<b>One moment</b>" not in page.text
    assert admin.post("/designer/bots/help-desk/canned/remove", {"text": "Hello! How can I help?"}).status_code == 302
    with app.app_context():
        assert canned.listed("help-desk") == ["<b>One moment</b>"]
        db.session.remove()


def test_flask_users_create_makes_an_agent(app, runner):
    result = runner.invoke(args=["users", "create", "agent@example.com", "--role", "agent"], input="long enough\n")
    assert result.exit_code == 0 and "Created agent agent@example.com." in result.output


def _move(app, session_id: str, queue: str | None) -> None:
    with app.app_context():
        db.session.get(HandoverSession, session_id).queue = queue
        db.session.commit()
        db.session.remove()


def test_an_agent_picks_the_queues_they_answer_and_the_console_remembers(app, desk, alice):
    _, support = handed_over(app, "u1")
    _, billing = handed_over(app, "u2")
    _, anyone = handed_over(app, "u3")
    _move(app, billing, "billing")
    _move(app, anyone, None)  # a handover step that names no queue: for every agent

    def shown(page: str) -> list[str]:
        return re.findall(r'data-session="(\w+)"', page)

    page = alice.client.get("/designer/agents").text
    assert re.findall(r'name="queue" value="(\w+)"', page) == ["billing", "support"]  # the bot's step and sessions
    assert shown(page) == [support, billing, anyone]
    picked = alice.client.get("/designer/agents", query_string={"pick": "1", "queue": "billing"}).text
    assert shown(picked) == [billing, anyone]
    assert 'value="billing" checked' in picked and 'value="support" checked' not in picked
    assert shown(htmx(alice, "/designer/agents/queue").text) == [billing, anyone]  # the poll keeps the pick
    assert shown(alice.client.get("/designer/agents").text) == [billing, anyone]  # and "Back to the queue"
    with app.app_context():
        handovers.accept(billing, {"id": "designer:999", "name": "Carol"})
        handovers.close(billing, by={"id": "designer:999", "name": "Carol"})
        handovers.accept(anyone, {"id": "designer:999", "name": "Carol"})
        handovers.close(anyone, by={"id": "designer:999", "name": "Carol"})
        db.session.remove()
    empty = htmx(alice, "/designer/agents/queue").text
    assert "No conversation is waiting for a person in billing." in empty
    everything = alice.client.get("/designer/agents", query_string={"pick": "1"}).text  # nothing ticked: every queue
    assert shown(everything) == [support]


def timed_desk(app, bots, seconds: int = 120) -> None:
    """The help-desk bot whose handover gives up when no agent accepts within `seconds`."""
    from runtime.store import bots as store
    doc = bots.load("help-desk")
    step = doc["dialogs"][0]["steps"][1]["options"][1]["steps"][0]
    step.update(timeout=seconds, onTimeout=[{"id": "t1", "type": "message", "text": "Nobody is free right now."}])
    with app.app_context():
        store.import_bot(doc)
        store.publish("help-desk")
        db.session.remove()


def ended_rows(page: str) -> list[tuple[str, str, str]]:
    """The console's handovers that ended lately: (session, reason, how it ended), the last ended first."""
    return [(session, reason, re.sub(r"<[^>]+>", "", how).strip()) for session, reason, how in re.findall(
        r'data-ended="(\w+)" data-reason="(\w*)">(?:\s*<td[^>]*>.*?</td>){3}\s*<td>(.*?)</td>', page, re.S)]


def test_the_console_marks_overdue_waits_and_tells_abandoned_handovers_from_closed_ones(app, desk, bots, alice, clock,
                                                                                         jobs):
    _, forever = handed_over(app, "u0")  # no timeout: it waits until someone acts
    timed_desk(app, bots)
    _, first = handed_over(app, "u1")
    _, second = handed_over(app, "u2")
    queue = htmx(alice, "/designer/agents/queue")
    assert re.findall(r'data-session="(\w+)" data-status="waiting"( data-overdue)?', queue.text) == [
        (forever, ""), (first, ""), (second, "")]
    assert queue.text.count("the bot goes on after 2 min") == 2 and 'data-testid="ended-handovers"' not in queue.text
    page = alice.client.get(f"/designer/agents/{forever}").text
    assert "until someone accepts or closes it" in page and 'data-testid="overdue"' not in page
    assert "2 min at most, then the bot goes on" in alice.client.get(f"/designer/agents/{first}").text
    version = re.search(r"queue\?v=(\w+)", queue.text).group(1)

    # The timers are due, but no worker has run them (it is down, or behind): the users still wait.
    clock.move_to(clock.later(minutes=3))
    late = htmx(alice, "/designer/agents/queue", v=version)
    assert late.status_code == 200  # the marks are news: the poll brings them
    assert re.findall(r'data-session="(\w+)" data-status="waiting"( data-overdue)?', late.text) == [
        (forever, ""), (first, " data-overdue"), (second, " data-overdue")]
    assert late.text.count("longer than its 2 min limit") == 2
    page = alice.client.get(f"/designer/agents/{first}").text
    assert 'data-testid="overdue"' in page and "longer than its 2 min limit" in page

    jobs.drain()  # the worker catches up: nobody accepted them in time, the bot goes on
    alice.post(f"/designer/agents/{forever}/accept")
    alice.post(f"/designer/agents/{forever}/close")
    console = alice.client.get("/designer/agents").text
    assert 'data-testid="agent-queue-empty"' in console
    rows = ended_rows(console)
    assert rows[0] == (forever, "agent", "Closed by Alice")
    assert sorted(rows[1:]) == sorted([(first, "timeout", "Abandoned — nobody accepted within 2 min"),
                                       (second, "timeout", "Abandoned — nobody accepted within 2 min")])
    status = re.search(r'data-testid="session-status">(.*?)</dd>', alice.client.get(f"/designer/agents/{first}").text)
    assert status.group(1) == "Abandoned — nobody accepted within 2 min. The bot has taken over again."
    refused = alice.post(f"/designer/agents/{first}/accept")
    assert refused.status_code == 409 and "Nobody accepted this handover in time, so the bot went on" in refused.text


def test_handovers_that_ended_a_day_ago_leave_the_console(app, desk, alice, clock):
    _, session_id = handed_over(app)
    alice.post(f"/designer/agents/{session_id}/close")  # closed before anyone accepted it
    assert ended_rows(htmx(alice, "/designer/agents/queue").text) == [
        (session_id, "agent", "Closed by Alice before anyone accepted it")]
    clock.move_to(clock.later(hours=25))
    assert 'data-testid="ended-handovers"' not in htmx(alice, "/designer/agents/queue").text


class Events:
    """A console page's server-sent events, read in a thread as they come: their names."""

    def __init__(self, response):
        assert response.status_code == 200 and response.mimetype == "text/event-stream"
        self.names: queue.Queue[str] = queue.Queue()
        self.started = threading.Event()
        threading.Thread(target=self._read, args=(response,), daemon=True).start()
        assert self.started.wait(10)  # the stream is open and watching

    def _read(self, response) -> None:
        for chunk in response.response:
            self.started.set()
            for line in chunk.decode().splitlines():
                if line.startswith("event: "):
                    self.names.put(line.removeprefix("event: "))

    def next(self, wait: float = 10) -> str | None:
        try:
            return self.names.get(timeout=wait)
        except queue.Empty:
            return None


def test_the_console_hears_of_each_change_as_it_is_committed(app, desk, bots, alice):
    bots.load("dl-shop")  # a bot Alice does not answer for
    conversation_id, session_id = handed_over(app)
    queue_events = Events(alice.client.get("/designer/agents/live", buffered=False))
    session_events = Events(alice.client.get("/designer/agents/live", query_string={"session": session_id},
                                             buffered=False))

    with app.app_context():  # a turn of a bot she does not answer for: nothing for her pages
        handle(start_conversation("dl-shop", "u3", "webchat")[0].id, Input.message("echo"))
        db.session.remove()
    assert queue_events.next(wait=1) is None
    handed_over(app, user="u2", name="Ota")  # another visitor of her bot asks for a person
    assert queue_events.next() == "changed"
    assert session_events.next(wait=1) is None  # not the conversation that page shows
    user_says(app, conversation_id, "Hello?")  # the visitor of the open conversation writes
    assert session_events.next() == "changed"


def test_a_console_page_hears_only_of_conversations_its_person_may_open(app, desk, bots, admin):
    _, session_id = handed_over(app)
    outsider = Designer(app, app.test_client()).sign_in("otto@example.com", "otto's pass", role="agent")
    assert outsider.client.get("/designer/agents/live", query_string={"session": session_id}).status_code == 404


def test_the_console_shows_the_visitor_typing_as_they_type(app, desk, alice):
    """The widget posts `typing` while people have the chat; the open conversation's page hears it at once (the
    queue page does not), and a message then is `changed`, which hides the dots."""
    from runtime.channels.directline import tokens

    conversation_id, session_id = handed_over(app)
    queue_events = Events(alice.client.get("/designer/agents/live", buffered=False))
    session_events = Events(alice.client.get("/designer/agents/live", query_string={"session": session_id},
                                             buffered=False))
    with app.app_context():
        token = tokens.issue(tokens.Grant("help-desk", conversation_id, "u1"))
    visitor = app.test_client()
    posted = visitor.post(f"/v3/directline/conversations/{conversation_id}/activities", json={"type": "typing"},
                          headers={"Authorization": f"Bearer {token}"})
    assert posted.status_code == 200
    assert session_events.next() == "typing"
    assert queue_events.next(wait=1) is None
    page = alice.client.get(f"/designer/agents/{session_id}").text
    assert 'id="visitor-typing"' in page and "The visitor is typing" in page
    said = visitor.post(f"/v3/directline/conversations/{conversation_id}/activities",
                        json={"type": "message", "text": "Still there?"}, headers={"Authorization": f"Bearer {token}"})
    assert said.status_code == 200
    assert session_events.next() == "changed"  # the turn's own typing note is the widget's, not the console's
    assert session_events.next(wait=1) is None
