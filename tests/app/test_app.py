"""The application factory: configuration, migrations, the plain pages and JSON errors."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import text

from app import create_app, normalize_database_url
from runtime.extensions import db, migrate


def test_configuration_defaults_and_a_kept_secret_key(tmp_path):
    app = create_app({"ARBOR_DATA": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'arbor.db'}"
    assert app.config["ARBOR_MAX_DOCUMENT_BYTES"] == 5 * 1024 * 1024
    assert app.config["REDIS_URL"] is None
    assert len(app.config["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert create_app({"ARBOR_DATA": str(tmp_path)}).config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_the_environment_is_read_only_without_a_test_config(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ARBOR_DATA", str(tmp_path))
    monkeypatch.setenv("ARBOR_MAX_DOCUMENT_BYTES", "1000")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DIRECTLINE_STREAM_BASE", "wss://chat.example:8001")  # where the stream process listens
    from_env = create_app().config
    assert from_env["ARBOR_MAX_DOCUMENT_BYTES"] == 1000
    assert from_env["DIRECTLINE_STREAM_BASE"] == "wss://chat.example:8001"
    assert create_app({"ARBOR_DATA": str(tmp_path)}).config["SECRET_KEY"] != "from-env"


def test_postgres_urls_name_the_psycopg_driver():
    assert normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return
        connection = db.session.connection()
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_migrations_are_applied_and_match_the_models(app, runner):
    assert runner.invoke(args=["db", "check"]).exit_code == 0  # no model change lacks its migration
    with app.app_context():
        head = ScriptDirectory.from_config(migrate.get_config()).get_current_head()
        assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == head


def test_health_check(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_api_errors_are_json_pages_stay_html(client):
    response = client.get("/v3/directline/nothing")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "NotFound" and error["message"]
    assert client.post("/healthz").get_json()["error"]["code"] == "MethodNotAllowed"
    assert "GET" in client.post("/healthz").headers["Allow"]
    assert client.get("/nothing").mimetype == "text/html"


def test_unexpected_errors_give_json_without_a_traceback(tmp_path):
    app = create_app({"ARBOR_DATA": str(tmp_path), "PROPAGATE_EXCEPTIONS": False})

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "InternalServerError"
    assert "secret detail" not in response.get_data(as_text=True)
