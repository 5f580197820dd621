"""While a Bot Framework issuer's keys cannot be read, a flood of activities (anyone may post one, with any
token) does not hold the web workers: after a failed read the keys are not asked for again for
`FAILURE_PAUSE`, and each activity meanwhile gets the same 503 at once, saying to try again later; the first
activity after the pause reads them again. The issuer is the local stand-in (tests/channels/botframework_standin.py)
on a real HTTP server, its OpenID metadata switched off and on; the pause is measured on the test's clock."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug import Request, Response

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "channels")]

from botframework_standin import APP_PASSWORD, BOT_ACCOUNT, BotFramework  # noqa: E402

from runtime.channels.platforms import connections  # noqa: E402
from runtime.channels.platforms.adapters import botframework_auth  # noqa: E402
from runtime.channels.platforms.adapters.botframework_auth import FAILURE_PAUSE, REFETCH_AFTER  # noqa: E402
from runtime.extensions import db  # noqa: E402
from runtime.store.bots import import_bot  # noqa: E402
from runtime.store.models import Conversation  # noqa: E402

BOT = {"format": 1, "id": "bfaway", "name": "BF", "start": "hi", "dialogs": [
    {"id": "hi", "title": "Hi", "steps": [{"id": "m", "type": "message", "text": "Hello."}]}]}
ENDPOINT = "/b/bfaway/botframework/messages"
METADATA = "/bf/away/openidconfiguration"
FLOOD = 8


@pytest.fixture
def app_config():
    return {"OUTBOUND_ALLOW_HOSTS": "127.0.0.1 ::1"}


class Issuer:
    """The stand-in's OpenID metadata at METADATA, answering 500 while `down` (not 502-504, which the guarded
    session itself asks again for, twice); `reads` counts what it was asked."""

    def __init__(self, server, bf: BotFramework):
        self.server, self.down = server, False
        self.metadata = {"issuer": bf.settings()["issuer"], "jwks_uri": server.url_for("/bf/keys")}
        server.expect_request(METADATA, method="GET").respond_with_handler(self._answer)

    def _answer(self, request: Request) -> Response:
        if self.down:
            return Response("Internal Server Error", status=500)
        return Response(json.dumps(self.metadata), content_type="application/json")

    def reads(self) -> tuple[int, int]:
        """(metadata reads, key set reads) so far."""
        paths = [entry.path for entry, _ in self.server.log]
        return paths.count(METADATA), paths.count("/bf/keys")


@pytest.fixture
def bf(app, httpserver) -> BotFramework:
    botframework_auth.forget()
    made = BotFramework(httpserver)
    yield made
    botframework_auth.forget()


@pytest.fixture
def issuer(app, bf, httpserver) -> Issuer:
    made = Issuer(httpserver, bf)
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("bfaway", "teams", "Teams", "", kind="botframework",
                           settings={**bf.settings(), "openIdMetadataUrl": httpserver.url_for(METADATA)},
                           secrets={"appPassword": APP_PASSWORD})
    return made


def post(client, bf: BotFramework, activity: dict, kid: str = "key-1"):
    return client.post(ENDPOINT, json=activity, headers={"Authorization": f"Bearer {bf.token(activity, kid=kid)}"})


def refused_at_once(client, bf: BotFramework, count: int) -> set[str]:
    """Post `count` activities; each must be a 503: the messages they got."""
    said = set()
    for n in range(count):
        answer = post(client, bf, bf.message("hi", f"m{n}"))
        assert answer.status_code == 503 and answer.json["error"]["code"] == "ServiceUnavailable", answer.json
        said.add(answer.json["error"]["message"])
    return said


def conversations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Conversation))


def test_a_flood_while_the_issuer_is_away_costs_one_read_per_pause(app, client, bf, issuer, clock):
    issuer.down = True
    said = refused_at_once(client, bf, FLOOD)
    assert issuer.reads() == (1, 0)  # one read for the whole flood
    [message] = said  # the same answer for each
    assert message.startswith("Could not read the issuer's signing keys: ") and "answered 500" in message
    assert message.endswith(f"read again {int(FAILURE_PAUSE.total_seconds())} seconds after a failure: try again "
                            "later.")
    assert conversations(app) == 0

    clock.move_to(clock.later(seconds=FAILURE_PAUSE.total_seconds() + 1))
    assert refused_at_once(client, bf, FLOOD) == said  # still away: read once more, then the pause again
    assert issuer.reads() == (2, 0)

    issuer.down = False
    assert refused_at_once(client, bf, 1) == said  # back, but the pause is not over: not asked
    assert issuer.reads() == (2, 0)
    clock.move_to(clock.later(seconds=FAILURE_PAUSE.total_seconds() + 1))
    welcome = bf.members_added("c1", BOT_ACCOUNT)
    assert post(client, bf, welcome).status_code == 200
    assert issuer.reads() == (3, 1)
    assert post(client, bf, bf.message("hi", "m-after")).status_code == 200  # the keys are kept again
    assert issuer.reads() == (3, 1)


def test_kept_keys_still_answer_while_the_issuer_is_away(app, client, bf, issuer, clock):
    """Keys read before the issuer went away still verify; an unknown key id is a 401 at once, not a read each."""
    welcome = bf.members_added("c1", BOT_ACCOUNT)
    assert post(client, bf, welcome).status_code == 200
    issuer.down = True
    clock.move_to(clock.later(seconds=REFETCH_AFTER.total_seconds() + 1))  # an unknown key id may read again
    for n in range(FLOOD):
        answer = post(client, bf, bf.message("hi", f"rogue{n}"), kid="rogue")
        assert answer.status_code == 401 and "does not list" in answer.json["error"]["message"]
    assert issuer.reads() == (2, 1)  # the first read, and one failed read for the flood
    assert post(client, bf, bf.message("hi", "m1")).status_code == 200
    assert issuer.reads() == (2, 1)
