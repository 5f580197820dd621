"""Promise: a Bot Framework connection's app password and the reply tokens it obtains never reach a log, and the
app password is not shown back in an error even when the token endpoint repeats it in its refusal (the Test
button's message and the delivery's error are read by every editor of the bot)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from werkzeug import Request, Response

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from botframework_standin import APP_PASSWORD, BOT_ACCOUNT, BotFramework  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.channels.platforms.adapters import botframework_auth  # noqa: E402
from runtime.channels.platforms.adapters.base import PlatformError  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402

BOT = {"format": 1, "id": "bfpw", "name": "BF", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hello."}]}]}
ENDPOINT = "/b/bfpw/botframework/messages"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


def connect(app, bf: BotFramework, **settings) -> None:
    botframework_auth.forget()
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("bfpw", "teams", "Teams", "", kind="botframework", settings={**bf.settings(), **settings},
                           secrets={"appPassword": APP_PASSWORD})


def test_the_app_password_and_reply_tokens_reach_no_log(app, client, httpserver, jobs, caplog):
    caplog.set_level(logging.DEBUG)
    bf = BotFramework(httpserver)
    connect(app, bf)
    with app.app_context():
        connections.check("bfpw", "teams")
    activity = bf.members_added("c1", BOT_ACCOUNT)
    assert client.post(ENDPOINT, json=activity, headers={"Authorization": f"Bearer {bf.token(activity)}"}) \
        .status_code == 200
    jobs.drain()
    assert bf.texts == ["Hello."] and bf.issued >= 1
    assert caplog.records  # the flow was logged: requests, the turn, the delivery
    assert APP_PASSWORD not in caplog.text and "connector-token-" not in caplog.text


def test_a_token_endpoint_repeating_the_password_in_its_refusal_does_not_show_it(app, httpserver):
    def echo(request: Request) -> Response:
        return Response(f'{{"error": "invalid_client", "error_description": "bad secret '
                        f'{request.form.get("client_secret")}"}}', status=401, content_type="application/json")

    httpserver.expect_request("/echo/token", method="POST").respond_with_handler(echo)
    bf = BotFramework(httpserver)
    connect(app, bf, tokenEndpoint=httpserver.url_for("/echo/token"))
    with app.app_context(), pytest.raises(PlatformError) as refused:
        connections.check("bfpw", "teams")
    assert "refused the app id and password (HTTP 401)" in str(refused.value)
    assert APP_PASSWORD not in str(refused.value) and "bad secret [the app password]" in str(refused.value)
