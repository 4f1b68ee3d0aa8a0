"""Per-job tokens and signed executor events, so nobody else in the cluster can
forge a job's completion.

Each job's token is HMAC(JOB_TOKEN_SECRET, job id): the dispatcher derives it without
storing it, and hands it only to that job's executor (a per-job Secret in Kubernetes,
the environment of the subprocess locally). The executor signs each event; the
dispatcher recomputes the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from typing import Any

from boardrun.config import ConfigError, embedded_secret, get_settings
from boardrun.eventing.cloudevents_adapter import Event

_lock = threading.Lock()
_secret: bytes | None = None


def _load_secret() -> bytes:
    value = os.environ.get("JOB_TOKEN_SECRET")
    if value:
        return value.encode()
    settings = get_settings()
    if settings.production:
        raise ConfigError("JOB_TOKEN_SECRET is required when BOARDRUN_ENV=production")
    return embedded_secret("job-token-secret", lambda: secrets.token_hex(32).encode()).strip()


def _server_secret() -> bytes:
    global _secret
    if _secret is None:
        with _lock:
            if _secret is None:
                _secret = _load_secret()
    return _secret


def reset_secret() -> None:
    global _secret
    with _lock:
        _secret = None


def job_token(job_id: str) -> str:
    return hmac.new(_server_secret(), f"job:{job_id}".encode(), hashlib.sha256).hexdigest()


def _canonical(event: Event, job_id: str) -> bytes:
    data = json.dumps(event.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "\n".join([event.id, event.type, event.source, job_id, data]).encode()


def sign(event: Event, job_id: str, token: str) -> str:
    return hmac.new(token.encode(), _canonical(event, job_id), hashlib.sha256).hexdigest()


def verify(event: Event, job_id: str, signature: str | None) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(sign(event, job_id, job_token(job_id)), signature)


def data_digest(data: Any) -> str:
    """Stable hash of a request body (idempotency: same key, same body)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
