"""The engine, step type by step type, and the rules of DESIGN §5."""

from __future__ import annotations

import copy
import sys

from chatting import Chat, texts
from golden import load_doc

from runtime import engine
from runtime.steps.base import Input


def doc(*dialogs, **extra) -> dict:
    """A bot from dialogs given as (id, [steps]); the first one starts."""
    return {"format": 1, "id": "t", "name": "Test", "start": dialogs[0][0],
            "dialogs": [{"id": d, "steps": s} for d, s in dialogs], **extra}


def msg(id_: str, text: str, **kw) -> dict:
    return {"id": id_, "type": "message", "text": text, **kw}


def test_engine_imports_no_web_or_database_code():
    import subprocess
    code = ("import sys, runtime.engine, runtime.botdoc; "
            "bad = [m for m in ('flask', 'sqlalchemy', 'requests') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bot_speaks_first_and_renders_storages(chat):
    c = chat(doc(("a", [msg("m1", "Hi {{ name or 'there' }}!")])), data={"name": "Eva"})
    assert texts(c.last) == ["Hi Eva!"]
    assert c.state["ended"] is True


def test_message_with_buttons_image_and_url():
    step = msg("m1", "Look", image="https://example.com/a.png",
               buttons=[{"title": "Yes", "value": "y"}, {"title": "Site", "url": "https://example.com"}])
    c = Chat(doc(("a", [step])))
    activity = c.last[0]
    assert activity["attachments"][0]["contentUrl"] == "https://example.com/a.png"
    assert activity["suggestedActions"] == {"to": ["u1"], "actions": [
        {"type": "imBack", "title": "Yes", "value": "y"},
        {"type": "openUrl", "title": "Site", "value": "https://example.com"}]}


def test_question_validates_retries_then_falls_back(chat):
    q = {"id": "q", "type": "question", "text": "E-mail?", "storage": "email", "validate": "email",
         "retry": "Not an e-mail", "maxRetries": 1}
    c = chat(doc(("a", [q, msg("m", "Got {{ email }}")]), ("fb", [msg("f", "Fallback!")]), fallback="fb"))
    assert c.say("nope") == ["Not an e-mail"]
    assert c.say("still nope") == ["Fallback!", "E-mail?"]  # fallback, then asked again
    assert c.say("ann@example.com") == ["Got ann@example.com"]
    assert c.data["email"] == "ann@example.com"


def test_question_kinds_store_parsed_values(chat):
    cases = [("number", "1 500", 1500), ("number", "2,5", 2.5), ("date", "31.1.2025", "2025-01-31"),
             ("date", "2025-02-03", "2025-02-03"), ("phone", "+420 603 123 456", "+420603123456"),
             ("text", "  hello ", "hello")]
    for kind, said, stored in cases:
        c = chat(doc(("a", [{"id": "q", "type": "question", "text": "?", "storage": "v", "validate": kind}])))
        c.say(said)
        assert c.data["v"] == stored, (kind, said)
    c = chat(doc(("a", [{"id": "q", "type": "question", "text": "?", "storage": "v", "validate": "date"}])))
    assert c.say("30.2.2025") == ["Please answer with a date, for example 2025-01-31 or 31.1.2025."]


def test_question_regex(chat):
    q = {"id": "q", "type": "question", "text": "Code?", "storage": "code", "validate": "regex",
         "pattern": "[A-Z]{2}[0-9]{2}"}
    c = chat(doc(("a", [q])))
    assert c.say("A1") != []
    c.say("AB12")
    assert c.data["code"] == "AB12"


def test_choice_accepts_value_title_and_typo_and_logs_misses(chat):
    choice = {"id": "c", "type": "choice", "text": "Pick", "storage": "topic", "options": [
        {"title": "A loan", "value": "loan", "steps": [msg("l", "Loans!")]},
        {"title": "Talk to a person", "value": "human", "steps": [msg("h", "Humans!")]}]}
    bot = doc(("a", [choice, msg("after", "After {{ topic }}")]))
    assert chat(bot).buttons == ["A loan", "Talk to a person"]
    for said, expected in [("A loan", "Loans!"), ("a LOAN", "Loans!"), ("loan", "Loans!"),
                           ("Talk to a persn", "Humans!")]:
        c = chat(bot)
        assert c.say(said)[0] == expected, said
        assert c.state["ended"]
    c = chat(bot)
    assert c.send(Input.message(value="human"))[0]["text"] == "Humans!"
    c = chat(bot)
    assert c.say("pizza") == [engine.NOT_UNDERSTOOD, "Pick"]
    assert c.logs[-1]["kind"] == "nlp-miss" and c.logs[-1]["query"] == "pizza"
    assert c.logs[-1]["step"] == "c" and c.logs[-1]["stepType"] == "choice"


def test_carousel_static_and_from_items(chat):
    static = {"id": "k", "type": "carousel", "text": "Plans", "storage": "plan", "cards": [
        {"title": "Basic", "subtitle": "cheap", "image": "https://example.com/b.png",
         "buttons": [{"title": "Choose", "value": "basic"}, {"title": "Details", "url": "https://example.com"}]},
        {"title": "Pro", "buttons": [{"title": "Choose", "value": "pro"}]}]}
    c = chat(doc(("a", [static, msg("m", "You chose {{ plan }}")])))
    activity = c.last[0]
    assert activity["attachmentLayout"] == "carousel"
    hero = activity["attachments"][0]
    assert hero["contentType"] == "application/vnd.microsoft.card.hero"
    assert hero["content"]["images"] == [{"url": "https://example.com/b.png"}]
    assert hero["content"]["buttons"][0] == {"type": "postBack", "title": "Choose", "value": "basic"}
    assert c.send(Input.message(text="pro"))[0]["text"] == "You chose pro"

    from_items = {"id": "k", "type": "carousel", "items": "jobs", "storage": "job",
                  "card": {"title": "{{ item.name }}", "buttons": [{"title": "Apply", "value": "{{ item.id }}"}]},
                  "empty": "No jobs now."}
    c = chat(doc(("a", [from_items])), data={"jobs": [{"id": "j1", "name": "Baker"}, {"id": "j2", "name": "Cook"}]})
    assert [a["content"]["title"] for a in c.last[0]["attachments"]] == ["Baker", "Cook"]
    c.send(Input.message(value="j2"))
    assert c.data["job"] == "j2"
    assert texts(chat(doc(("a", [from_items])), data={"jobs": []}).last) == ["No jobs now."]


def test_condition_set_and_else(chat):
    steps = [{"id": "s", "type": "set", "storage": "age", "value": "20 - 3"},
             {"id": "c", "type": "condition", "branches": [{"when": "age >= 18", "steps": [msg("a", "adult")]}],
              "else": [msg("e", "minor")]},
             msg("z", "done")]
    assert texts(chat(doc(("a", steps))).last) == ["minor", "done"]
    steps[0]["value"] = "40"
    assert texts(chat(doc(("a", steps))).last) == ["adult", "done"]


def test_goto_jump_and_call_returns(chat):
    bot = doc(("a", [{"id": "g", "type": "goto", "dialog": "b", "mode": "call"}, msg("back", "back in a")]),
              ("b", [msg("inb", "in b")]), ("c", [msg("inc", "in c")]))
    assert texts(chat(bot).last) == ["in b", "back in a"]
    bot["dialogs"][0]["steps"][0]["mode"] = "jump"
    assert texts(chat(bot).last) == ["in b"]


def test_end_and_a_new_message_starts_afresh(chat):
    q = {"id": "q", "type": "question", "text": "Name?", "storage": "name"}
    c = chat(doc(("a", [msg("m", "Hello"), {"id": "e", "type": "end"}, msg("never", "never")]), ("b", [q])))
    assert texts(c.last) == ["Hello"] and c.state["ended"]
    assert c.say("hi again") == ["Hello"]


def test_event_step_sends_rendered_value(chat):
    step = {"id": "e", "type": "event", "name": "show-order", "value": {"id": "{{ order }}", "n": 2}}
    c = chat(doc(("a", [step])), data={"order": "AB12"})
    assert c.last == [{"type": "event", "name": "show-order", "value": {"id": "AB12", "n": 2}}]


def test_wait_for_event_or_timeout(chat):
    wait = {"id": "w", "type": "wait", "events": ["paid"], "timeout": 60,
            "onEvent": [msg("p", "Paid {{ event.value.total }}")], "onTimeout": [msg("t", "Too slow")]}
    bot = doc(("a", [wait, msg("z", "bye")]))
    c = chat(bot)
    assert c.effects == [{"type": "timer.start", "step": "w", "seconds": 60}]
    assert c.event("other") == [] and c.state["waiting"]["step"] == "w"
    assert texts(c.event("paid", {"total": 5})) == ["Paid 5", "bye"]
    assert {"type": "timer.cancel", "step": "w"} in c.effects
    assert c.send(Input.timeout("w")) == []  # fired after the conversation moved on: nothing
    c = chat(bot)
    assert texts(c.send(Input.timeout("w"))) == ["Too slow", "bye"]


def test_trigger_event_interrupts_and_saves_value_first():
    c = Chat(load_doc("support"))
    assert c.buttons == ["Track an order", "Help with checkout", "Close the chat", "Talk to a person"]
    out = c.event("order-help", "xy9999")
    assert c.data["orderId"] == "xy9999"
    assert texts(out)[0] == "Order XY9999 is on its way. I have opened it on the page for you."
    assert {"type": "event", "name": "show-order", "value": {"id": "XY9999"}} in out


def test_trigger_call_mode_returns_to_the_waiting_step():
    c = Chat(load_doc("support"))
    out = c.event("checkout-opened")
    assert texts(out) == ["I see you are checking out. I will wait here until you are done."]
    out = c.event("checkout-done", {"total": 12})
    assert texts(out) == ["Thank you for your order!", "How can I help?"]  # back to the interrupted choice
    assert {"type": "event", "name": "confetti", "value": {"total": "12"}} in out


def test_management_trigger_with_data_and_clear(chat):
    bot = doc(("a", [{"id": "q", "type": "question", "text": "Name?", "storage": "name"}, msg("m", "Hi {{ name }}")]),
              ("done", [msg("d", "Transfer {{ tx }} complete")]))
    c = chat(bot)
    out = c.send(Input.trigger("done", {"tx": "T-1"}))
    assert texts(out) == ["Transfer T-1 complete", "Name?"]  # then back to the question
    assert c.say("Ann") == ["Hi Ann"]
    c = chat(bot)
    assert texts(c.send(Input.trigger("done", {"tx": "T-2"}, clear=True))) == ["Transfer T-2 complete"]
    assert c.state["ended"]


def test_step_budget_stops_a_goto_loop(chat):
    bot = doc(("a", [{"id": "g1", "type": "goto", "dialog": "b"}]),
              ("b", [{"id": "g2", "type": "goto", "dialog": "a"}]))
    c = chat(bot)
    assert c.state["ended"] and any("Stopped after" in e for e in c.errors)


def test_edited_bot_restarts_the_dialog_of_a_deleted_step(chat):
    original = doc(("a", [msg("m", "Start"), {"id": "q1", "type": "question", "text": "Old?", "storage": "x"}]))
    c = chat(original)
    edited = copy.deepcopy(original)
    edited["dialogs"][0]["steps"][1] = {"id": "q2", "type": "question", "text": "New?", "storage": "x"}
    c.edit(edited)
    assert c.say("answer") == ["Start", "New?"]
    assert any("changed under this conversation" in e for e in c.errors)


def test_edited_bot_with_the_dialog_gone_restarts_the_bot(chat):
    original = doc(("a", [{"id": "g", "type": "goto", "dialog": "b"}]),
                   ("b", [{"id": "q1", "type": "question", "text": "In b?", "storage": "x"}]))
    c = chat(original)
    edited = doc(("a", [msg("m", "Fresh start")]))
    c.edit(edited)
    assert c.say("hello") == ["Fresh start"]


def test_first_message_is_applied_as_input(chat):
    bot = doc(("a", [{"id": "q", "type": "question", "text": "Meter?", "storage": "meter"},
                     msg("m", "Meter {{ meter }}")]))
    c = chat(bot, first=Input.message("METER 123455"))
    assert texts(c.last) == ["Meter?", "Meter METER 123455"]


def test_expression_failure_is_logged_not_fatal(chat):
    c = chat(doc(("a", [msg("m", "{{ 9 ** 99999999 }}"), msg("n", "still here")])))
    assert texts(c.last) == ["", "still here"]
    assert c.errors and "Could not render" in c.errors[0]


def test_handover_says_its_text_asks_for_a_person_and_waits_until_the_agent_closes(chat):
    c = chat(doc(("a", [{"id": "h", "type": "handover", "text": "One moment", "queue": "sales"}, msg("m", "go on")])))
    assert texts(c.last) == ["One moment"]
    assert c.effects[-1] == {"type": "handover", "step": "h", "queue": "sales"}
    assert c.send(Input.result("other", {"ok": True})) == []  # not the step that waits
    assert texts(c.send(Input.result("h", {"ok": True}))) == ["go on"]


def test_handover_goes_on_with_the_dialog_it_names_when_the_agent_closes(chat):
    c = chat(doc(("a", [{"id": "h", "type": "handover", "afterDialog": "b"}, msg("m", "not this")]),
                 ("b", [msg("n", "back with the bot")])))
    assert c.effects[-1] == {"type": "handover", "step": "h", "queue": None}
    assert texts(c.send(Input.result("h", {"ok": True}))) == ["back with the bot"]


def test_page_event_not_awaited_is_ignored(chat):
    c = chat(doc(("a", [{"id": "q", "type": "question", "text": "Name?", "storage": "n"}])))
    assert c.event("random") == []
    assert c.state["waiting"]["step"] == "q"


def test_fallback_is_never_called_inside_itself(chat):
    bot = doc(("a", [{"id": "c", "type": "choice", "text": "Pick", "options": [{"title": "One"}]}]),
              ("fb", [{"id": "fc", "type": "choice", "text": "Really?", "options": [{"title": "Yes"}]}]),
              fallback="fb")
    c = chat(bot)
    assert c.say("zzz") == ["Really?"]
    assert c.say("zzz") == [engine.NOT_UNDERSTOOD, "Really?"]
    assert c.say("Yes") == ["Pick"]


def test_page_may_start_the_start_dialog_or_a_triggered_one():
    c = Chat(load_doc("support"))
    out = c.event("arbor/start-dialog", {"dialog": "checkout"})
    assert texts(out) == ["I see you are checking out. I will wait here until you are done."]
    assert texts(c.event("arbor/start-dialog", {"dialog": "welcome"}))[0].startswith("Hello")
    assert c.event("arbor/start-dialog", {"dialog": "not-understood"}) == []
    assert c.event("arbor/start-dialog", "nonsense") == []
    assert sum("neither the start dialog nor one a trigger names" in e for e in c.errors) == 2
    assert c.state["waiting"]["step"] == "sp-w2"  # still where it was


def test_handover_nobody_accepted_in_time_runs_its_timeout_steps_then_goes_on(chat):
    c = chat(doc(("a", [{"id": "h", "type": "handover", "timeout": 60, "afterDialog": "b",
                         "onTimeout": [msg("t", "Nobody is free right now.")]}, msg("m", "Anything else?")]),
                 ("b", [msg("n", "not after a timeout")])))
    assert c.effects[-1] == {"type": "timer.start", "step": "h", "seconds": 60}
    assert texts(c.send(Input.timeout("h"))) == ["Nobody is free right now.", "Anything else?"]


def test_handover_closed_by_the_agent_cancels_its_timer(chat):
    c = chat(doc(("a", [{"id": "h", "type": "handover", "timeout": 60}, msg("m", "go on")])))
    assert texts(c.send(Input.result("h", {"ok": True}))) == ["go on"]
    assert c.effects[-1] == {"type": "timer.cancel", "step": "h"}
