"""clear-data, email and sms over the pure engine: what they change and the effects they ask for."""

from __future__ import annotations

from chatting import Chat, texts


def bot(*steps: dict) -> dict:
    return {"format": 1, "id": "outbox", "name": "Outbox", "start": "a",
            "dialogs": [{"id": "a", "title": "A", "steps": [*steps, {"id": "m", "type": "message", "text": "done"}]}]}


def test_clear_data_snapshots_then_forgets_all_but_kept_storages():
    c = Chat(bot({"id": "c", "type": "clear-data", "keep": ["language", "absent"]}),
             data={"email": "eva@example.com", "language": "cs", "card": {"id": 7}})
    assert texts(c.last) == ["done"]
    assert c.data == {"language": "cs"}
    assert c.effects == [{"type": "user-data.snapshot", "step": "c",
                          "data": {"email": "eva@example.com", "language": "cs", "card": {"id": 7}}}]


def test_email_renders_its_message_and_asks_for_it_to_be_sent():
    c = Chat(bot({"id": "e", "type": "email", "to": "sales@example.com; {{ email }}", "subject": "Lead:\n{{ name }}",
                  "body": "{{ name }} wants a loan.", "replyTo": "{{ email }}"}),
             data={"name": "Eva", "email": "eva@example.com"})
    assert c.effects == [{"type": "email.send", "step": "e", "to": ["sales@example.com", "eva@example.com"],
                          "subject": "Lead: Eva", "body": "Eva wants a loan.",
                          "replyTo": "eva@example.com"}]


def test_email_without_recipient_is_a_logged_error_not_a_crash():
    c = Chat(bot({"id": "e", "type": "email", "to": "{{ email }}", "subject": "s", "body": "b"}))
    assert texts(c.last) == ["done"] and c.effects == []
    assert "no recipient" in [entry for entry in c.logs if entry["kind"] == "error"][0]["message"]


def test_sms_renders_its_text_for_each_number():
    c = Chat(bot({"id": "s", "type": "sms", "to": "{{ phone }}, +420777000999", "text": "Code {{ code }}"}),
             data={"phone": "+420777000111", "code": 1234})
    assert c.effects == [{"type": "sms.send", "step": "s", "to": ["+420777000111", "+420777000999"],
                          "text": "Code 1234"}]
    empty = Chat(bot({"id": "s", "type": "sms", "to": "{{ phone }}", "text": "x"}))
    assert empty.effects == [] and "no number" in empty.logs[-1]["message"]
