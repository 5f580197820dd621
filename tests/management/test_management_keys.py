"""Function keys: made by the CLI and shown once, stored hashed, accepted as ?code= or x-functions-key,
refused (401, JSON) when missing, wrong, revoked or another bot's, and repeated failures slowed down."""

from __future__ import annotations

from management import key_fixture, make_key  # noqa: F401  (a fixture)
from sqlalchemy import select

from app import create_app
from runtime.extensions import db
from runtime.management.keys import digest
from runtime.management.models import FunctionKey

EXPORT = "/b/store-basics/api/management/export/userData"


def test_the_cli_prints_a_key_once_and_stores_only_its_digest(app, bots, runner, client):
    bots.load("store-basics")
    made = runner.invoke(args=["keys", "create", "store-basics", "--name", "analytics"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert len(secret) >= 43 and "cannot be shown again" in made.stderr
    with app.app_context():
        row = db.session.scalars(select(FunctionKey)).one()
        assert row.digest == digest(secret) and secret not in (row.digest, row.name)
        assert row.last_used_at is None

    assert client.get(f"{EXPORT}?code={secret}").status_code == 200
    assert client.get(EXPORT, headers={"x-functions-key": secret}).status_code == 200
    listed = runner.invoke(args=["keys", "list", "store-basics"])
    assert listed.exit_code == 0 and "analytics" in listed.stdout and secret not in listed.stdout
    id_, name, created, last_used, revoked = listed.stdout.strip().split("\t")
    assert (name, revoked) == ("analytics", "-") and last_used != "-"  # the use was recorded

    again = runner.invoke(args=["keys", "create", "store-basics", "--name", "analytics"])
    assert again.exit_code == 1 and "already has a key named 'analytics'" in again.stderr

    revoked_ = runner.invoke(args=["keys", "revoke", "store-basics", "analytics"])
    assert revoked_.exit_code == 0 and f"revoked {id_} analytics" in revoked_.stdout
    refused = client.get(f"{EXPORT}?code={secret}")
    assert refused.status_code == 401 and "revoked" in refused.json["error"]["message"]
    listed = runner.invoke(args=["keys", "list", "store-basics"])
    assert listed.stdout.strip().split("\t")[4] != "-"
    assert runner.invoke(args=["keys", "revoke", "store-basics", "analytics"]).exit_code == 1
    assert runner.invoke(args=["keys", "create", "nobot", "--name", "x"]).stderr.startswith("error: There is no bot")


def test_no_key_a_wrong_key_and_another_bots_key_are_refused_with_json(app, bots, client, key):
    bots.load("counter")
    other = make_key(app, "counter")
    for params, headers, says in [
        ("", {}, "needs a function key"),
        ("?code=", {}, "needs a function key"),
        ("?code=wrong", {}, "not one of bot 'store-basics'"),
        (f"?code={other}", {}, "not one of bot 'store-basics'"),
        ("", {"x-functions-key": other}, "not one of bot 'store-basics'"),
        (f"?code={'x' * 5000}", {}, "not one of bot"),
    ]:
        response = client.get(EXPORT + params, headers=headers)
        assert response.status_code == 401, params
        assert response.json["error"]["code"] == "Unauthorized" and says in response.json["error"]["message"]
    assert client.get(f"/b/counter/api/management/export/userData?code={other}").status_code == 200
    # A bot that does not exist answers as a wrong key does: nothing is told without a key.
    assert client.get(f"/b/nobot/api/management/export/userData?code={key}").status_code == 401


def test_repeated_failures_from_one_address_are_slowed_down_but_good_keys_are_not(app, client, key):
    app.config["MANAGEMENT_AUTH_FAILURE_LIMIT"] = "3 per minute"
    for _ in range(12):  # a working integration is never limited
        assert client.get(f"{EXPORT}?code={key}").status_code == 200
    assert [client.get(f"{EXPORT}?code=guess{i}").status_code for i in range(3)] == [401] * 3
    limited = client.get(f"{EXPORT}?code=guess4")
    assert limited.status_code == 429 and "wrong or missing function key" in limited.json["error"]["message"]
    assert "Retry-After" in limited.headers
    other_client = client.get(f"{EXPORT}?code=guess5", environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert other_client.status_code == 401  # counted per client address


def test_failures_are_counted_in_redis_so_every_process_sees_them(app, client, key):
    """Two web processes (two apps) on one Redis: failures at one count at the other."""
    app.config["MANAGEMENT_AUTH_FAILURE_LIMIT"] = "2 per minute"
    shared = {name: app.config[name] for name in ("TESTING", "ARBOR_DATA", "SECRET_KEY", "REDIS_URL",
                                                  "ARBOR_REDIS_PREFIX", "SQLALCHEMY_DATABASE_URI")}
    other = create_app({**shared, "SQLALCHEMY_ENGINE_OPTIONS": app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                        "MANAGEMENT_AUTH_FAILURE_LIMIT": "2 per minute", "AUTO_MIGRATE": False})
    try:
        assert [client.get(f"{EXPORT}?code=guess{i}").status_code for i in range(2)] == [401, 401]
        assert other.test_client().get(f"{EXPORT}?code=guess3").status_code == 429
    finally:
        with other.app_context():
            db.engine.dispose()
