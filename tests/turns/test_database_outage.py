"""A database that does not answer gets 503 with Retry-After and a message (runtime/store/outage.py), and only
such an error: a real mistake in a statement is still a 500. The faults suite (tests/faults/) stops a real
PostgreSQL under load and counts that nothing is lost or doubled; these check the answer itself."""

from __future__ import annotations

import socket
import sqlite3

import psycopg
import pytest
from database_away import database_away
from directline_client import DL, Chat, bearer, secret_of
from sqlalchemy.exc import OperationalError

from runtime.store.outage import is_outage


@pytest.fixture
def chat(app, bots, client) -> Chat:
    bots.load("dl-shop")
    return Chat.generate(client, secret_of(app, "dl-shop"))


def test_a_sqlite_file_that_cannot_be_opened_is_503_saying_to_send_again(app, client, chat, tmp_path, postgres):
    with database_away(app, tmp_path, postgres):
        answer = client.post(chat.url, headers=bearer(chat.token), json={"type": "message", "text": "hi",
                                                                        "from": {"id": chat.user_id}})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert answer.get_json()["error"]["code"] == "ServiceUnavailable"
    assert "Send the same request again" in answer.get_json()["error"]["message"]
    assert client.get(f"{DL}/conversations/{chat.conversation_id}/activities",
                      headers=bearer(chat.token)).status_code == 200  # back: nothing was applied, nothing broken


def test_a_server_that_refuses_connections_is_an_outage():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(f"postgresql://nobody@127.0.0.1:{port}/none", connect_timeout=5)
    assert is_outage(OperationalError("SELECT 1", {}, refused.value))


def test_a_mistake_in_a_statement_is_not_an_outage():
    with pytest.raises(sqlite3.OperationalError) as mistake:
        sqlite3.connect(":memory:").execute("SELECT * FROM no_such_table")
    assert not is_outage(OperationalError("SELECT * FROM no_such_table", {}, mistake.value))
