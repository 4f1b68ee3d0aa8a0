"""Configuration, read from environment variables only (12-factor).

Every variable is documented in README.md ("Configuration"). `get_settings()` is
cached; tests that change the environment call `reset_settings()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, TypeVar


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


T = TypeVar("T")


def _env(name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {expected}, got {raw!r}") from None


def _parse_bool(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def env_int(name: str, default: int) -> int:
    return _env(name, default, int, "an integer")


def env_float(name: str, default: float) -> float:
    return _env(name, default, float, "a number")


def env_bool(name: str, default: bool) -> bool:
    return _env(name, default, _parse_bool, "true or false")


@dataclass(frozen=True)
class Settings:
    env: str  # "embedded" (local defaults allowed) or "production" (nothing generated)
    data_dir: Path
    database_url: str
    storage_url: str
    s3_endpoint_url: str | None
    signing_key_pem: str | None
    access_token_ttl: int
    refresh_token_ttl: int
    login_max_failures: int  # per e-mail address and client address
    login_max_failures_per_address: int  # per e-mail address, from all clients together
    login_window_seconds: int
    trusted_proxy_hops: int  # proxies in front whose X-Forwarded-For entry is believed
    email_verification_ttl: int
    email_verification_url: str | None  # a front-end page; the token is appended as #token=…
    invitation_ttl: int
    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_from: str
    smtp_starttls: bool
    smtp_timeout: float
    max_body_bytes: int
    max_board_bytes: int
    host: str
    port: int
    public_url: str
    log_level: str

    @property
    def production(self) -> bool:
        return self.env == "production"


def _load() -> Settings:
    env = os.environ.get("BOARDRUN_ENV", "embedded").strip().lower()
    if env not in ("embedded", "production"):
        raise ConfigError(f"BOARDRUN_ENV must be 'embedded' or 'production', got {env!r}")
    data_dir = Path(os.environ.get("DATA_DIR", "./.data")).resolve()
    production = env == "production"

    # In production nothing is defaulted: a missing value stays empty and the code that
    # needs it (db, storage, tokens) fails with a ConfigError naming it. Processes that
    # never use it (the executor has no database) still start.
    database_url = os.environ.get("DATABASE_URL") or ("" if production else f"sqlite:///{data_dir / 'boardrun.db'}")
    storage_url = os.environ.get("STORAGE_URL") or ("" if production else f"file://{data_dir / 'storage'}")

    signing_key = os.environ.get("AUTH_SIGNING_KEY") or None
    key_file = os.environ.get("AUTH_SIGNING_KEY_FILE")
    if not signing_key and key_file:
        try:
            signing_key = Path(key_file).read_text()
        except OSError as exc:
            raise ConfigError(f"AUTH_SIGNING_KEY_FILE {key_file!r} cannot be read: {exc}") from exc

    smtp_password = os.environ.get("SMTP_PASSWORD") or None
    smtp_password_file = os.environ.get("SMTP_PASSWORD_FILE")
    if not smtp_password and smtp_password_file:
        try:
            smtp_password = Path(smtp_password_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"SMTP_PASSWORD_FILE {smtp_password_file!r} cannot be read: {exc}") from exc

    port = env_int("PORT", 8080)
    return Settings(
        env=env,
        data_dir=data_dir,
        database_url=database_url,
        storage_url=storage_url,
        s3_endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
        signing_key_pem=signing_key,
        access_token_ttl=env_int("ACCESS_TOKEN_TTL_SECONDS", 900),
        refresh_token_ttl=env_int("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600),
        login_max_failures=env_int("LOGIN_MAX_FAILURES", 5),
        login_max_failures_per_address=env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 50),
        login_window_seconds=env_int("LOGIN_WINDOW_SECONDS", 300),
        trusted_proxy_hops=env_int("TRUSTED_PROXY_HOPS", 0),
        email_verification_ttl=env_int("EMAIL_VERIFICATION_TTL_SECONDS", 24 * 3600),
        email_verification_url=os.environ.get("EMAIL_VERIFICATION_URL") or None,
        invitation_ttl=env_int("INVITATION_TTL_SECONDS", 14 * 24 * 3600),
        smtp_host=os.environ.get("SMTP_HOST") or None,
        smtp_port=env_int("SMTP_PORT", 587),
        smtp_username=os.environ.get("SMTP_USERNAME") or None,
        smtp_password=smtp_password,
        smtp_from=os.environ.get("SMTP_FROM") or "boardrun@localhost",
        smtp_starttls=env_bool("SMTP_STARTTLS", True),
        smtp_timeout=env_float("SMTP_TIMEOUT_SECONDS", 10.0),
        max_body_bytes=env_int("MAX_BODY_BYTES", 1024 * 1024),
        max_board_bytes=env_int("MAX_BOARD_BYTES", 4 * 1024 * 1024),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=port,
        public_url=(os.environ.get("PUBLIC_URL") or f"http://localhost:{port}").rstrip("/"),
        log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
    )


def embedded_secret(name: str, make: Callable[[], bytes]) -> bytes:
    """A secret generated for embedded mode and kept in DATA_DIR/<name> (0600): created
    once, the first writer winning if several processes start at once. Production
    never generates secrets: callers check `production` first."""
    from boardrun.private_files import private_dir

    path = get_settings().data_dir / name
    if not path.exists():
        private_dir(path.parent)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(make())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return _load()


def reset_settings() -> None:
    """Forget cached settings and every cache built from them (tests change the env)."""
    get_settings.cache_clear()
    from boardrun import db, dbprobe, storage  # local import: they import this module

    db.reset_engine()
    dbprobe.reset()
    storage.reset_storage()
    from boardrun.accounts import tokens

    tokens.reset_keys()
    from boardrun.jobs import signing

    signing.reset_secret()


__all__ = ["ConfigError", "Settings", "env_bool", "env_float", "env_int", "get_settings", "reset_settings"]
