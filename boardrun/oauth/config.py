"""OAuth provider configuration, from environment variables only.

    OAUTH_PROVIDERS=google,github          the providers, by id (lower case, [a-z0-9_-])
    OAUTH_<ID>_KIND=oidc|github            default: github for the id "github", else oidc
    OAUTH_<ID>_CLIENT_ID / _CLIENT_SECRET  the client registered at the provider (required)
    OAUTH_<ID>_DISCOVERY_URL               OIDC: the issuer's .well-known/openid-configuration
    OAUTH_<ID>_DISPLAY_NAME                shown by clients (default: the id, capitalised)
    OAUTH_<ID>_SCOPES                      space separated (default: "openid email profile" /
                                           "read:user user:email")
    OAUTH_<ID>_AUTHORIZE_URL / _TOKEN_URL  GitHub (or an OIDC override of the discovered ones)
    OAUTH_<ID>_API_BASE_URL                GitHub API (default https://api.github.com)
    OAUTH_<ID>_REDIRECT_URI                optional front-end URL: the callback then answers 302
                                           there with the tokens in the URL fragment

`<ID>` is the provider id upper-cased with "-" turned into "_". The callback URL
registered at the provider must be `PUBLIC_URL/api/v1/oauth/<id>/callback`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from boardrun.config import ConfigError, env_int, get_settings

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")
KINDS = ("oidc", "github")
GITHUB_DEFAULTS = {
    "authorize_url": "https://github.com/login/oauth/authorize",
    "token_url": "https://github.com/login/oauth/access_token",
    "api_base_url": "https://api.github.com",
}


@dataclass(frozen=True)
class Provider:
    id: str
    kind: str
    display_name: str
    client_id: str
    client_secret: str
    scopes: str
    discovery_url: str | None
    authorize_url: str | None
    token_url: str | None
    api_base_url: str | None
    frontend_redirect_uri: str | None

    @property
    def start_path(self) -> str:
        return f"/api/v1/oauth/{self.id}"

    @property
    def callback_url(self) -> str:
        return f"{get_settings().public_url}/api/v1/oauth/{self.id}/callback"

    def public(self) -> dict:
        """What clients may see: never the client secret."""
        return {"id": self.id, "name": self.display_name, "kind": self.kind, "url": self.start_path}


def _env(prefix: str, name: str) -> str | None:
    value = os.environ.get(f"{prefix}_{name}", "").strip()
    return value or None


def _load_one(provider_id: str) -> Provider:
    prefix = "OAUTH_" + provider_id.upper().replace("-", "_")
    kind = (_env(prefix, "KIND") or ("github" if provider_id == "github" else "oidc")).lower()
    if kind not in KINDS:
        raise ConfigError(f"{prefix}_KIND must be one of {', '.join(KINDS)}, got {kind!r}")
    client_id, client_secret = _env(prefix, "CLIENT_ID"), _env(prefix, "CLIENT_SECRET")
    if not client_id or not client_secret:
        raise ConfigError(f"{prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET are required for provider {provider_id!r}")
    discovery = _env(prefix, "DISCOVERY_URL")
    if kind == "oidc" and not discovery:
        raise ConfigError(f"{prefix}_DISCOVERY_URL is required for the OpenID Connect provider {provider_id!r}")
    defaults = GITHUB_DEFAULTS if kind == "github" else {}
    return Provider(
        id=provider_id,
        kind=kind,
        display_name=_env(prefix, "DISPLAY_NAME") or ("GitHub" if kind == "github" else provider_id.capitalize()),
        client_id=client_id,
        client_secret=client_secret,
        scopes=_env(prefix, "SCOPES") or ("read:user user:email" if kind == "github" else "openid email profile"),
        discovery_url=discovery,
        authorize_url=_env(prefix, "AUTHORIZE_URL") or defaults.get("authorize_url"),
        token_url=_env(prefix, "TOKEN_URL") or defaults.get("token_url"),
        api_base_url=(_env(prefix, "API_BASE_URL") or defaults.get("api_base_url") or "").rstrip("/") or None,
        frontend_redirect_uri=_env(prefix, "REDIRECT_URI"),
    )


def providers() -> dict[str, Provider]:
    """Every configured provider, in the order of OAUTH_PROVIDERS (read on each call:
    cheap, and always what the environment says)."""
    ids = [p.strip().lower() for p in os.environ.get("OAUTH_PROVIDERS", "").split(",") if p.strip()]
    result: dict[str, Provider] = {}
    for provider_id in ids:
        if not _ID.match(provider_id):
            raise ConfigError(f"OAUTH_PROVIDERS: {provider_id!r} is not a valid provider id ([a-z0-9_-], at most 64)")
        result[provider_id] = _load_one(provider_id)
    return result


def state_ttl() -> int:
    return env_int("OAUTH_STATE_TTL_SECONDS", 600)


def http_timeout() -> float:
    return float(env_int("OAUTH_HTTP_TIMEOUT_SECONDS", 10))


def metadata_cache_seconds() -> int:
    return env_int("OAUTH_METADATA_CACHE_SECONDS", 3600)
