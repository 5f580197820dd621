"""Every address a Bot Framework connection makes the server fetch goes through the outbound guard: the OpenID
metadata URL and the token endpoint (checked when saved, and on each fetch), the `jwks_uri` the metadata names and
redirects (read for an anonymous caller's activity: a 503), and the `serviceUrl` of a verified activity (where
replies and the bot's token go). Loopback, link-local (cloud metadata) and private addresses, and redirects to
them, are refused with a sentence naming the address, unless the operator allow-lists them; nothing is sent
there. The issuer is the local stand-in (tests/channels/botframework_standin.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from botframework_standin import APP_PASSWORD, BOT_ACCOUNT, BotFramework  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.channels.platforms.adapters import botframework_auth  # noqa: E402
from runtime.channels.platforms.adapters.base import PlatformError  # noqa: E402
from runtime.extensions import db  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.models import Conversation  # noqa: E402
from runtime.webhooks.models import WebhookAttempt  # noqa: E402

BOT = {"format": 1, "id": "bfssrf", "name": "BF", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hello."}]}]}
ENDPOINT = "/b/bfssrf/botframework/messages"
METADATA_IP = "http://169.254.169.254/latest"


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}  # the stand-in's address only: ::1 and the rest stay refused


def connect(app, bf: BotFramework, **settings) -> None:
    botframework_auth.forget()
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("bfssrf", "teams", "Teams", "", kind="botframework", settings={**bf.settings(), **settings},
                           secrets={"appPassword": APP_PASSWORD})


def conversations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Conversation))


@pytest.mark.parametrize("key, where, says", [
    ("openIdMetadataUrl", "http://[::1]:{port}/bf/.well-known/openidconfiguration", "OpenID metadata URL: Refused "
                                                                                   "to connect to ::1: a loopback"),
    ("openIdMetadataUrl", "http://169.254.169.254/metadata", "OpenID metadata URL: Refused to connect to "
                                                             "169.254.169.254: a link-local (cloud metadata)"),
    ("openIdMetadataUrl", "http://10.0.0.7/openid", "OpenID metadata URL: Refused to connect to 10.0.0.7: a private"),
    ("tokenEndpoint", "http://169.254.169.254/token", "token endpoint: Refused to connect to 169.254.169.254"),
])
def test_an_address_on_a_refused_network_is_refused_when_saved(app, httpserver, key, where, says):
    bf = BotFramework(httpserver)
    with pytest.raises(PlatformError, match=re.escape(says)):
        connect(app, bf, **{key: where.format(port=httpserver.port)})
    assert httpserver.log == [] and bf.token_requests == []


@pytest.mark.parametrize("path", ["/meta-inside", "/meta-moved"])
def test_a_jwks_uri_or_a_redirect_to_a_refused_address_is_not_followed(app, client, httpserver, path):
    httpserver.expect_request("/meta-inside").respond_with_json({"jwks_uri": METADATA_IP})
    httpserver.expect_request("/meta-moved").respond_with_data("", status=302, headers={"Location": METADATA_IP})
    bf = BotFramework(httpserver)
    connect(app, bf, openIdMetadataUrl=httpserver.url_for(path))
    activity = bf.members_added("c1", BOT_ACCOUNT)
    answer = client.post(ENDPOINT, json=activity, headers={"Authorization": f"Bearer {bf.token(activity)}"})
    assert answer.status_code == 503 and "169.254.169.254" in answer.json["error"]["message"], answer.json
    assert conversations(app) == 0
    assert [entry[0].path for entry in httpserver.log] == [path]


def test_a_signed_service_url_on_a_refused_address_gets_no_reply_nor_token(app, client, httpserver, jobs):
    """The issuer is the editor's to set: a token it signs for a serviceUrl inside the network is still refused
    when the reply is sent, and the bot's reply token goes nowhere."""
    bf = BotFramework(httpserver)
    connect(app, bf)
    activity = {**bf.members_added("c1", BOT_ACCOUNT), "serviceUrl": METADATA_IP}
    answer = client.post(ENDPOINT, json=activity, headers={"Authorization": f"Bearer {bf.token(activity)}"})
    assert answer.status_code == 200
    jobs.drain()
    assert bf.replies == []
    with app.app_context():
        errors = db.session.scalars(select(WebhookAttempt.error)).all()
    assert errors and all("169.254.169.254" in error and "link-local" in error for error in errors)
