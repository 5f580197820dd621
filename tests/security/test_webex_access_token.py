"""A Webex Connect connection takes events only with the BOT's access token it was given, and answers with
its verification token only to such a POST: a caller without the access token learns nothing and changes
nothing (it cannot verify the connection either)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from webex_standin import WebexConnect, message  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.extensions import db  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.models import Conversation  # noqa: E402

BOT = {"format": 1, "id": "wsec", "name": "Webex", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hello."}]}]}
HOOK = "/b/wsec/hooks/webex"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


@pytest.fixture
def made(app, httpserver):
    with app.app_context():
        import_bot(BOT, publish=True)
        return connections.create("wsec", "webex", "Webex", WebexConnect(httpserver).webhook_url,
                                  kind="webex-connect")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer guess"}, {"X-Access-Token": "guess"},
                                     {"Authorization": "Basic Z3Vlc3M6Z3Vlc3M="}])
def test_without_the_access_token_nothing_is_verified_applied_or_told(app, client, made, headers):
    verification = made.shown["Verification token"]
    for body in ({}, message("Hi", "m1")):  # Verify, then an event
        answer = client.post(HOOK, json=body, headers=headers)
        assert answer.status_code == 401 and "access token" in answer.json["error"]["message"]
        assert verification not in answer.get_data(as_text=True) and "X-Verification-Token" not in answer.headers
    with app.app_context():
        assert connections.get("wsec", "webex")["status"] == "unverified"
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_the_tokens_are_never_shown_again(app, made):
    with app.app_context():
        shown = str(connections.get("wsec", "webex")) + str(connections.list_for("wsec"))
    assert made.token not in shown and made.shown["Verification token"] not in shown
