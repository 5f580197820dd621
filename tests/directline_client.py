"""A Direct Line client that calls the API the way DirectLineJS and WebChat do (see DIRECTLINE.md), over
the Flask test client, plus the fixtures the Direct Line tests share."""

from __future__ import annotations

import itertools
from datetime import datetime

import jwt
from werkzeug.test import TestResponse

from runtime.channels.directline.secret import reveal

DL = "/v3/directline"
AGENT = "DirectLine/3.0 (directlinejs; WebChat/4.18.1 (Full) 0.15.5)"
_ids = itertools.count(1)


def bearer(credential: str) -> dict:
    return {"Authorization": f"Bearer {credential}", "x-ms-bot-agent": AGENT}


def secret_of(app, bot: str) -> str:
    with app.app_context():
        return reveal(bot)[0]


def user_of(token: str) -> str:
    """The user id WebChat takes from a JWT token's `user` claim (it does not check the signature)."""
    return jwt.decode(token, options={"verify_signature": False})["user"]


def moment(activity: dict) -> datetime:
    return datetime.fromisoformat(activity["timestamp"])


class FakeClock:
    """A clock for DIRECTLINE_CLOCK that moves only when told."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Chat:
    """One WebChat on a page: its token, conversation, user id and watermark."""

    def __init__(self, client, token: str, conversation_id: str, user_id: str = "r_tester"):
        self.client, self.token, self.conversation_id, self.user_id = client, token, conversation_id, user_id
        self.watermark = ""

    @classmethod
    def generate(cls, client, secret: str, body: dict | None = None) -> Chat:
        """A site backend generates a token; the page starts the conversation with it."""
        generated = client.post(f"{DL}/tokens/generate", headers=bearer(secret), json=body or {})
        assert generated.status_code == 200, generated.get_json()
        token = generated.get_json()["token"]
        started = client.post(f"{DL}/conversations", headers=bearer(token), json={"user": {"id": "r_ignored"}})
        assert started.status_code == 200, started.get_json()
        answer = started.get_json()
        assert answer["conversationId"] == generated.get_json()["conversationId"] and answer["token"]
        return cls(client, answer["token"], answer["conversationId"], user_of(answer["token"]))

    @property
    def url(self) -> str:
        return f"{DL}/conversations/{self.conversation_id}/activities"

    def get(self, watermark: str | None = None) -> TestResponse:
        mark = self.watermark if watermark is None else watermark
        return self.client.get(f"{self.url}?watermark={mark}", headers=bearer(self.token))

    def poll(self) -> list[dict]:
        """One poll: the activities after the watermark; the watermark moves on."""
        response = self.get()
        assert response.status_code == 200, response.get_json()
        self.watermark = response.get_json()["watermark"] or self.watermark
        return response.get_json()["activities"]

    def post(self, activity: dict) -> TestResponse:
        return self.client.post(self.url, headers=bearer(self.token), json=activity)

    def send(self, **fields) -> tuple[str, dict]:
        """Post what WebChat posts (its envelope around `fields`); returns the echo id and the activity."""
        activity = {"textFormat": "plain", "attachments": [], "channelId": "webchat", "locale": "en-US",
                    "from": {"id": self.user_id, "name": "", "role": "user"},
                    "channelData": {"clientActivityID": f"client-{next(_ids)}", "attachmentSizes": []},
                    "localTimestamp": "2026-11-21T12:00:00+01:00", **fields}
        response = self.post(activity)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["id"], activity

    def say(self, text: str) -> list[dict]:
        """Type a message, then poll: the echo and the bot's answer."""
        self.send(type="message", text=text)
        return self.poll()


def texts(activities: list[dict]) -> list[str]:
    return [a["text"] for a in activities if a["type"] == "message" and a["from"]["role"] == "bot" and "text" in a]
