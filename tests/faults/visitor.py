"""A webchat visitor over real HTTP, sending as Arbor's widget does (static/webchat.js): each message carries a
clientActivityID, and a message the server could not take (no answer, or 503 while the database is away) is
sent again with the same id until it is taken, so the server can apply it once however often it came."""

from __future__ import annotations

import time
from collections import Counter

import requests

DL = "/v3/directline"
PATIENCE = 120.0  # seconds a message is sent again for; a guard against a hang, never a measurement


class Visitor:
    def __init__(self, base: str, secret: str, user: str):
        self.base, self.user = base, user
        started = requests.post(f"{base}{DL}/conversations", json={"user": {"id": user}}, timeout=30,
                                headers={"Authorization": f"Bearer {secret}"})
        assert started.status_code == 201, started.text
        self.conversation_id, self.token = started.json()["conversationId"], started.json()["token"]
        self.sent: list[str] = []
        self.refusals: Counter = Counter()  # what the server answered before it took a message, by status

    @property
    def url(self) -> str:
        return f"{self.base}{DL}/conversations/{self.conversation_id}/activities"

    def say(self, text: str, *, between=lambda: None) -> None:
        """Send `text` until the server takes it; `between` runs before each resend (the test starts a stopped
        server there)."""
        self.sent.append(text)
        activity = {"type": "message", "text": text, "from": {"id": self.user, "role": "user"},
                    "channelData": {"clientActivityID": f"{self.user}-{len(self.sent)}"}}
        deadline = time.monotonic() + PATIENCE
        while True:
            try:
                answer = requests.post(self.url, json=activity, timeout=30,
                                       headers={"Authorization": f"Bearer {self.token}"})
            except requests.ConnectionError:
                self.refusals["no answer"] += 1
            else:
                if answer.status_code == 200:
                    return
                assert answer.status_code == 503, f"{answer.status_code}: {answer.text}"
                assert answer.headers.get("Retry-After"), "a 503 says when to try again"
                self.refusals[503] += 1
            assert time.monotonic() < deadline, f"'{text}' was never taken: {dict(self.refusals)}"
            between()
            time.sleep(0.1)

    def transcript(self) -> list[dict]:
        got = requests.get(self.url, timeout=30, headers={"Authorization": f"Bearer {self.token}"})
        assert got.status_code == 200, got.text
        return got.json()["activities"]

    def heard(self) -> Counter:
        """How often each of the visitor's messages is in the transcript."""
        return Counter(a.get("text") for a in self.transcript() if a["from"].get("role") == "user")

    def count_turns(self, count) -> None:
        """The visitor's turns into a tally: sent, stored (at least once), doubled (the copies past one)."""
        heard = self.heard()
        count.sent += len(self.sent)
        count.stored += sum(1 for text in self.sent if heard[text])
        count.doubled_turns += sum(max(heard[text] - 1, 0) for text in self.sent)
