"""Health probes mean what they say: ready checks the database and storage for real."""

from boardrun import services
from tests.conftest import function_client


def test_live_reports_version(env):
    """Liveness answers healthy with the product version, through the health function."""
    from boardrun import __version__

    r = function_client("health").get("/health/live")
    assert r.status_code == 200
    assert r.get_json() == {"status": "healthy", "version": __version__}


def test_ready_checks_database_and_storage(env):
    """Readiness is healthy when both the database and storage answer."""
    r = function_client("health").get("/health/ready")
    assert r.status_code == 200
    assert r.get_json()["checks"] == {"database": "ok", "storage": "ok"}


def test_ready_is_503_when_database_is_down(env, monkeypatch):
    """Readiness answers 503 with the failing check when the database is unreachable."""
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    services.reset()
    r = function_client("health").get("/health/ready")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("error") and body["checks"]["storage"] == "ok"


def test_ready_is_503_when_storage_is_down(env, monkeypatch, tmp_path):
    """Readiness answers 503 when the storage folder cannot be written."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("STORAGE_URL", f"file://{blocker}/sub")
    services.reset()
    r = function_client("health").get("/health/ready")
    assert r.status_code == 503 and r.get_json()["checks"]["storage"].startswith("error")


def test_startup_is_503_until_migrations_are_applied(monkeypatch, tmp_path):
    """The startup probe refuses traffic on an unmigrated database and accepts it after migrating."""
    from boardrun import db

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    services.reset()
    client = function_client("health")
    assert client.get("/health/startup").status_code == 503
    db.migrate()
    assert client.get("/health/startup").status_code == 200
    services.reset()


def test_api_health_and_db_rtt(env):
    """/api/v1/health is ok and /api/v1/health/db reports a round-trip time in ms."""
    client = function_client("health")
    assert client.get("/api/v1/health").get_json() == {"status": "ok"}
    body = client.get("/api/v1/health/db").get_json()
    assert isinstance(body["rtt"], int) and body["rtt"] >= 0


def test_api_health_db_is_503_json_when_database_is_down(env, monkeypatch):
    """A database outage is a 503 JSON error, never a trace."""
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    services.reset()
    r = function_client("health").get("/api/v1/health/db")
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "database_unavailable"
