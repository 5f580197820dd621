"""While a Bot Framework issuer's keys cannot be read, a flood of activities (anyone may post one, with any
token) does not hold the web workers: after a failed read the keys are not asked for again for
`FAILURE_PAUSE`, and each activity meanwhile gets the same 503 at once, saying to try again later; the first
activity after the pause reads them again; activities that come while that first (slow) read is under way wait for
it rather than each reading too. The issuer is the local stand-in (tests/channels/botframework_standin.py)
on a real HTTP server, its OpenID metadata switched off and on; the pause is measured on the test's clock."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
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
PATIENCE = 30  # seconds: a read or an activity that waits longer than this is stuck, not slow


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


class SlowIssuer:
    """The issuer's OpenID metadata on a threaded server of its own: each read is counted, then held until
    `release`, then answered 500 (a failing, slow issuer). `arrived` counts the activities under way for the keys:
    those that reached the issuer, and those that joined the read already under way."""

    def __init__(self, server: HTTPServer):
        self.release, self.under_way, self.arrived = threading.Event(), threading.Condition(), 0
        server.expect_request(METADATA, method="GET").respond_with_handler(self._answer)
        self.url, self.server = server.url_for(METADATA), server

    def arrive(self) -> None:
        with self.under_way:
            self.arrived += 1
            self.under_way.notify_all()

    def _answer(self, request: Request) -> Response:
        self.arrive()
        assert self.release.wait(PATIENCE), "the test never released the read"
        return Response("Internal Server Error", status=500)

    def reads(self) -> int:
        return [entry.path for entry, _ in self.server.log].count(METADATA)


@pytest.fixture
def slow_issuer(app, bf) -> Iterator[SlowIssuer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    made = SlowIssuer(server)
    with app.app_context():
        import_bot(BOT, publish=True)
        connections.create("bfaway", "teams", "Teams", "", kind="botframework",
                           settings={**bf.settings(), "openIdMetadataUrl": made.url},
                           secrets={"appPassword": APP_PASSWORD})
    yield made
    made.release.set()
    server.clear()
    server.stop()


def test_activities_that_come_while_the_first_read_is_under_way_wait_for_it(app, bf, slow_issuer, monkeypatch):
    """The first read of a flood is slow and fails: the activities that come meanwhile make no read of their own,
    they wait for that one and get its 503. Released only once every activity is under way for the keys: at the
    issuer, or waiting for the read under way (a `_Read.wait`)."""
    waiting = getattr(botframework_auth, "_Read", None)
    if waiting is not None:  # before single-flight reads there was none: each activity went to the issuer
        joined = waiting.wait
        monkeypatch.setattr(waiting, "wait", lambda read: (slow_issuer.arrive(), joined(read))[1])
    answers: list = []

    def activity(n: int) -> None:
        with app.test_client() as client:
            answers.append(post(client, bf, bf.message("hi", f"m{n}")))

    threads = [threading.Thread(target=activity, args=(n,)) for n in range(FLOOD)]
    for thread in threads:
        thread.start()
    with slow_issuer.under_way:
        assert slow_issuer.under_way.wait_for(lambda: slow_issuer.arrived == FLOOD, PATIENCE), slow_issuer.arrived
    slow_issuer.release.set()
    for thread in threads:
        thread.join()
    assert slow_issuer.reads() == 1
    assert {(answer.status_code, answer.json["error"]["message"]) for answer in answers} == {
        (503, answers[0].json["error"]["message"])}
    assert "answered 500" in answers[0].json["error"]["message"]
    assert conversations(app) == 0
