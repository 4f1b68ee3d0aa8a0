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
import secrets
from typing import TYPE_CHECKING, Any

from boardrun import services
from boardrun.config import ConfigError
from boardrun.eventing.cloudevents_adapter import Event

if TYPE_CHECKING:
    from boardrun.services import Services


def load_secret(registry: Services) -> bytes:
    """JOB_TOKEN_SECRET, or in embedded mode one generated once in DATA_DIR."""
    value = registry.settings.jobs.token_secret
    if value:
        return value.encode()
    if registry.settings.production:
        raise ConfigError("JOB_TOKEN_SECRET is required when BOARDRUN_ENV=production")
    return registry.embedded_secret("job-token-secret", lambda: secrets.token_hex(32).encode()).strip()


def job_token(job_id: str) -> str:
    return hmac.new(services.current().job_token_secret, f"job:{job_id}".encode(), hashlib.sha256).hexdigest()


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
