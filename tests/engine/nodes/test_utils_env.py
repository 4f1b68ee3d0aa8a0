"""Utils/Env: get_env reads only variables named in ENGINE_ENV_ALLOWLIST."""

from __future__ import annotations

from engine_testkit import run_pure

from boardrun import services


def test_allowed_variable_is_read(monkeypatch):
    """A listed variable is returned with found=true; a listed but unset one gives '' and found=false."""
    monkeypatch.setenv("ENGINE_ENV_ALLOWLIST", " BOARD_REGION , BOARD_UNSET")
    monkeypatch.setenv("BOARD_REGION", "eu-1")
    monkeypatch.delenv("BOARD_UNSET", raising=False)
    services.reset()
    assert run_pure("get_env", "variable", key="BOARD_REGION").result == "eu-1"
    assert run_pure("get_env", "found", key="BOARD_REGION").result is True
    assert run_pure("get_env", "variable", key="BOARD_UNSET").result == ""
    assert run_pure("get_env", "found", key="BOARD_UNSET").result is False


def test_unlisted_variables_are_refused(monkeypatch):
    """Server secrets stay unreadable: with no allowlist, or a name not on it, the node fails."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret")
    monkeypatch.delenv("ENGINE_ENV_ALLOWLIST", raising=False)
    services.reset()
    result = run_pure("get_env", "variable", key="DATABASE_URL")
    assert (result.reason, result.error["message"]) == (
        "node_error", "environment variable 'DATABASE_URL' is not allowed: only names listed in ENGINE_ENV_ALLOWLIST "
                      "can be read by boards")
    monkeypatch.setenv("ENGINE_ENV_ALLOWLIST", "BOARD_REGION")
    services.reset()
    assert run_pure("get_env", "found", key="DATABASE_URL").status == "failed"


def test_bad_key_type():
    """A non-string key fails naming the pin."""
    assert run_pure("get_env", "found", key=["PATH"]).error["message"] == "input 'key' must be a string, got array"
