"""Signed access tokens (EdDSA JWTs) and the signing key they use.

In embedded mode the key is generated once and kept in DATA_DIR; in production it
must come from AUTH_SIGNING_KEY / AUTH_SIGNING_KEY_FILE and is never generated.
Every function verifies tokens locally with the public half: no database round trip.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from boardrun import services
from boardrun.config import ConfigError, get_settings

if TYPE_CHECKING:
    from boardrun.services import Services

ISSUER = "boardrun"


def _load_or_create_key(registry: Services) -> Ed25519PrivateKey:
    settings = registry.settings
    if settings.auth.signing_key_pem:
        key = serialization.load_pem_private_key(settings.auth.signing_key_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError("AUTH_SIGNING_KEY must be an Ed25519 private key in PEM (openssl genpkey -algorithm ed25519)")
        return key
    if settings.production:  # never generated in production
        raise ConfigError("AUTH_SIGNING_KEY or AUTH_SIGNING_KEY_FILE is required when BOARDRUN_ENV=production")
    pem = registry.embedded_secret(
        "signing-key.pem",
        lambda: Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    return serialization.load_pem_private_key(pem, password=None)  # type: ignore[return-value]


def load_keys(registry: Services) -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    """The signing key pair (the services registry keeps the process's one)."""
    private = _load_or_create_key(registry)
    return private, private.public_key()


def keys() -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    return services.current().signing_keys


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified claims of an access token."""

    user_id: str
    token_id: str


class TokenError(Exception):
    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


def issue_access_token(user_id: str) -> tuple[str, int]:
    ttl = get_settings().auth.access_token_ttl
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": user_id,
        "typ": "access",
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, keys()[0], algorithm="EdDSA"), ttl


def verify_access_token(token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            keys()[1],
            algorithms=["EdDSA"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("access token expired", expired=True) from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid access token: {exc}") from None
    if claims.get("typ") != "access":
        raise TokenError("not an access token")
    return Principal(user_id=str(claims["sub"]), token_id=str(claims["jti"]))
