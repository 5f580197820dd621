"""A signed-in designer session over the Flask test client: CSRF token, draft revision and helpers."""

from __future__ import annotations

import json
import re

from runtime.extensions import db
from runtime.store.accounts import create_user
from runtime.store.bots import get_bot
from runtime.store.drafts import load_draft


class Designer:
    def __init__(self, app, client):
        self.app, self.client = app, client
        self.token = ""

    def csrf(self, path: str = "/designer/signin") -> str:
        page = self.client.get(path)
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        return self.token

    def sign_in(self, email: str = "admin@example.com", password: str = "correct horse", role: str = "admin"):
        with self.app.app_context():
            create_user(email, password, role)
        self.csrf()
        response = self.client.post("/designer/signin", data={"csrf_token": self.token, "email": email,
                                                              "password": password})
        assert response.status_code == 302, response.text
        return self

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def create_bot(self, name: str = "Shop help", example: str = "") -> str:
        response = self.post("/designer/bots", {"name": name, "example": example})
        assert response.status_code == 302
        return response.location.split("/bots/")[1].split("/")[0]

    def draft(self, bot_id: str) -> tuple[dict, int]:
        with self.app.app_context():
            doc, revision = load_draft(bot_id)
            db.session.remove()
        return doc, revision

    def edit(self, path: str, data: dict | None = None, revision: int | None = None):
        """An htmx edit as the editor page sends it: CSRF and draft revision headers."""
        bot_id = path.split("/bots/")[1].split("/")[0]
        revision = self.draft(bot_id)[1] if revision is None else revision
        return self.client.post(path, data=data or {}, headers={"HX-Request": "true", "X-CSRFToken": self.token,
                                                                "X-Draft-Revision": str(revision)})

    def add_step(self, bot_id: str, kind: str, place: str, index: int | None = None) -> str:
        response = self.edit(f"/designer/bots/{bot_id}/steps", {"type": kind, "place": place,
                                                                "index": "" if index is None else index})
        assert response.status_code == 200, response.text
        return json.loads(response.headers["HX-Trigger-After-Settle"])["selectStep"]

    def published(self, bot_id: str) -> int | None:
        with self.app.app_context():
            number = get_bot(bot_id).published_version
            db.session.remove()
        return number
