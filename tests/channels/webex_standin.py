"""A local stand-in of Webex Connect for the platform channel's tests: its bot-events in its own format (keys
as its Third-Party Bot guide writes them), and the webhook URL it generates for the bot's replies, on a real
local HTTP server (pytest-httpserver) that records what the bot sent and answers as the test says."""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

STAMP = "2026-12-07 03:00:00.25"


class WebexConnect:
    """The platform's side: `replies` are the JSON bodies the bot POSTed to the generated webhook URL."""

    def __init__(self, server: HTTPServer):
        self.replies: list[dict] = []
        self.headers: list[dict] = []
        self.agent_conversation = "ccsp-agent-77"  # what the answer to a Handover event names
        self.failing = 0  # how many next replies get a 500
        server.expect_request("/webex/bot-webhook", method="POST").respond_with_handler(self._answer)
        self.webhook_url = server.url_for("/webex/bot-webhook")

    def _answer(self, request: Request) -> Response:
        if self.failing:
            self.failing -= 1
            return Response("busy", status=500)
        body = json.loads(request.get_data(as_text=True))
        self.replies.append(body)
        self.headers.append(dict(request.headers))
        if body.get("Event") == "Handover":
            return Response(json.dumps({"Conversationid": self.agent_conversation, "status": "accepted"}),
                            content_type="application/json")
        return Response(json.dumps({"status": "ok"}), content_type="application/json")

    @property
    def messages(self) -> list[str]:
        return [body["Message"] for body in self.replies if body.get("Event") == "Outgoing message"]


def message(text: str, message_id: str, conversation: str = "conv-bot-1", **extra) -> dict:
    return {"Conversationid": conversation, "ConversationType": "BOT", "Message": text, "MessageType": "text",
            "Messageid": message_id, "Media": "", "Channel": "WHATSAPP", "Event": "Incoming message",
            "Timestamp": STAMP, **extra}


def postback(payload: str, conversation: str = "conv-bot-1", stamp: str = STAMP) -> dict:
    return {"Conversationid": conversation, "ConversationType": "BOT", "PostbackPayload": payload, "Channel": "FB",
            "Event": "FB POSTBACK", "Timestamp": stamp}


def delivery(message_id: str, status: str, description: str | None = None) -> dict:
    return {"Conversationid": "conv-bot-1", "ConversationType": "BOT", "Messageid": message_id,
            "Channel": "WHATSAPP", "Event": "Message Delivery", "DeliveryStatus": status,
            **({"Description": description} if description else {}), "Timestamp": STAMP}


def custom_event(eventid: str, conversation: str = "conv-bot-1", **params) -> dict:
    return {"eventid": eventid, "conversation_id": conversation, "message": "", "Messagetype": "",
            "Timestamp": "2026-12-07 03:00:00.250", **params}
