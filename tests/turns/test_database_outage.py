"""A database that does not answer gets 503 with Retry-After and a message (runtime/store/outage.py), and only
such an error: a real mistake in a statement is still a 500. The faults suite (tests/faults/) stops a real
PostgreSQL under load and counts that nothing is lost or doubled; these check the answer itself."""

from __future__ import annotations

import re
import socket
import sqlite3

import psycopg
import pytest
from database_away import database_away
from directline_client import DL, Chat, bearer, secret_of
from sqlalchemy.exc import OperationalError

from app import create_app
from runtime.extensions import db
from runtime.store.outage import BUSY, is_outage


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


@pytest.mark.parametrize("app_config", [{"DATABASE_POOL": "2", "DATABASE_POOL_TIMEOUT": "1"}])
def test_no_connection_free_in_the_pool_is_503_saying_to_send_again(app, client, chat):
    """Every connection of the process's pool in use (more requests at once than DATABASE_POOL serves): the
    request waits DATABASE_POOL_TIMEOUT (a second: the connection stays held), then gets 503 with Retry-After, not
    a 500, and nothing is applied."""
    message = {"type": "message", "text": "hi", "from": {"id": chat.user_id}}
    with app.app_context():
        held = [db.engine.connect() for _ in range(2)]  # the pool's two connections, in use elsewhere
        try:
            answer = client.post(chat.url, headers=bearer(chat.token), json=message)
        finally:
            for connection in held:
                connection.close()
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert answer.get_json()["error"] == {"code": "ServiceUnavailable", "message": BUSY}
    read = client.get(f"{DL}/conversations/{chat.conversation_id}/activities", headers=bearer(chat.token))
    assert read.status_code == 200 and "hi" not in [a.get("text") for a in read.get_json()["activities"]]


@pytest.mark.parametrize(("given", "pool"), [({}, {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30}),
                                             ({"DATABASE_POOL": "40", "DATABASE_POOL_TIMEOUT": "5"},
                                              {"pool_size": 5, "max_overflow": 35, "pool_timeout": 5}),
                                             ({"DATABASE_POOL": "3"}, {"pool_size": 3, "max_overflow": 0,
                                                                       "pool_timeout": 30})])
def test_database_pool_sets_the_most_connections_a_process_opens(given, pool, tmp_path, database):
    app = create_app({"ARBOR_DATA": str(tmp_path), "SECRET_KEY": "test", **database, **given, "AUTO_MIGRATE": False})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert {name: options[name] for name in pool} == pool  # beside the test database's own connect_args
    with app.app_context():
        assert db.engine.pool.size() == pool["pool_size"] and db.engine.pool.timeout() == pool["pool_timeout"]
        db.engine.dispose()


@pytest.mark.parametrize(("name", "given", "words"), [
    *[("DATABASE_POOL", given, r"DATABASE_POOL must be a whole number of database connections one process may "
                               r"open \(2 or more; 15 if not set\), not '")
      for given in ["1", "0", "-2", "many", "1.5"]],
    *[("DATABASE_POOL_TIMEOUT", given, r"DATABASE_POOL_TIMEOUT must be the whole seconds a request may wait for "
                                       r"a database connection \(1 or more; 30 if not set\), not '")
      for given in ["0", "-1", "soon", "0.5"]]])
def test_a_pool_setting_out_of_its_range_says_what_to_write(name, given, words, tmp_path):
    with pytest.raises(ValueError, match=words + re.escape(given)):
        create_app({"ARBOR_DATA": str(tmp_path), "SECRET_KEY": "test", name: given, "AUTO_MIGRATE": False})
