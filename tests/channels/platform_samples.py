"""A small bot and the inbound events a messaging platform posts, for the platform channel's tests."""

from __future__ import annotations

BOT = {"format": 1, "id": "pbot", "name": "Platform bot", "start": "welcome", "fallback": "nope",
       "triggers": [{"event": "order-shipped", "dialog": "shipped"}],
       "dialogs": [
           {"id": "welcome", "title": "Welcome", "steps": [
               {"id": "w1", "type": "message", "text": "Welcome to Acme."},
               {"id": "w2", "type": "choice", "text": "Tea or coffee?", "storage": "drink", "options": [
                   {"title": "Tea", "value": "tea", "steps": []},
                   {"title": "Coffee", "value": "coffee", "steps": []},
                   {"title": "Bye", "value": "bye", "steps": [
                       {"id": "w5", "type": "message", "text": "Bye!"}, {"id": "w6", "type": "end"}]}]},
               {"id": "w3", "type": "message", "text": "One {{ drink }} coming."},
               {"id": "w4", "type": "goto", "dialog": "welcome", "mode": "jump"}]},
           {"id": "shipped", "title": "Shipped", "steps": [
               {"id": "s1", "type": "message", "text": "Order {{ order }} shipped."}]},
           {"id": "nope", "title": "Nope", "steps": [{"id": "n1", "type": "message", "text": "Sorry?"}]}]}

WHO = {"service": "acme-cx", "channel": "WHATSAPP", "assetId": "+442000000001", "userId": "+447700900001"}


def message(text: str, message_id: str, **who) -> dict:
    return {"type": "message", "id": message_id, **WHO, **who, "messageType": "text", "text": text,
            "timestamp": "2026-11-22T05:00:00Z"}


def postback(payload, title: str | None = None, **who) -> dict:
    return {"type": "postback", **WHO, **who, "payload": payload, **({"text": title} if title else {})}


def event(name: str, parameters: dict, **who) -> dict:
    return {"type": "event", **WHO, **who, "eventId": name, "parameters": parameters}


def status(message_id: str, value: str, description: str | None = None) -> dict:
    return {"type": "status", "messageId": message_id, "status": value,
            **({"description": description} if description else {})}

HELP_BOT = {"format": 1, "id": "hbot", "name": "Help bot", "start": "welcome", "dialogs": [
    {"id": "welcome", "title": "Welcome", "steps": [
        {"id": "w1", "type": "message", "text": "Hi, I am the bot."},
        {"id": "w2", "type": "choice", "text": "What do you need?", "storage": "need", "options": [
            {"title": "Person", "value": "person", "steps": [
                {"id": "h1", "type": "handover", "text": "Connecting you to a person.", "queue": "support"}]},
            {"title": "Tea", "value": "tea", "steps": [{"id": "t1", "type": "message", "text": "Tea it is."}]}]},
        {"id": "w3", "type": "question", "text": "Anything else?", "storage": "more"},
        {"id": "w4", "type": "message", "text": "Noted: {{ more }}"}]}]}
