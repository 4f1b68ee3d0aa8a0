"""The settings tree: every environment variable Boardrun reads, parsed and checked once.

12-factor: configuration comes from environment variables only, and this is the one module
that reads them. `load_settings(environ)` turns an environment into a frozen `Settings`,
grouped by domain (database, storage, auth, jobs, local and Kubernetes backends, engine,
eventing, hub, OAuth, server); a malformed value raises one `ConfigError` naming the
variable and what it expects. `get_settings()` is the process's tree, loaded on first use;
the entry points (the embedded server, every function's main, the executor) call
`settings_or_exit()` first, so a bad value stops them with that one line instead of a
traceback at the first request. Every variable is documented in README.md
("Configuration"); a test checks the table against `variables()` both ways.

Plain frozen dataclasses, not pydantic-settings: importing pydantic-settings costs
~175-215 ms (`python -X importtime`, this machine), twice the ~80 ms the whole health
function needs to import, and the health function and the executor are started cold.

Processes read settings they never use (the executor has no database): in production a
missing value is not an error here, the code that needs it raises a ConfigError naming it.
This module imports nothing of Boardrun but its version: the services built from the
settings live in `boardrun.services`, whose `reset()` is the one way to swap them.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterator, Mapping, TypeVar

from boardrun import __version__


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


T = TypeVar("T")


def _var(*names: str):
    """A field read from these variables (their names, for `variables()` and the README test)."""
    return field(metadata={"env": names})


# -- the tree ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = _var("DATABASE_URL")  # "" in production when unset


@dataclass(frozen=True)
class StorageSettings:
    url: str = _var("STORAGE_URL")  # "" in production when unset
    s3_endpoint_url: str | None = _var("S3_ENDPOINT_URL")


@dataclass(frozen=True)
class MailSettings:
    smtp_host: str | None = _var("SMTP_HOST")
    smtp_port: int = _var("SMTP_PORT")
    username: str | None = _var("SMTP_USERNAME")
    password: str | None = _var("SMTP_PASSWORD", "SMTP_PASSWORD_FILE")
    sender: str = _var("SMTP_FROM")
    starttls: bool = _var("SMTP_STARTTLS")
    timeout: float = _var("SMTP_TIMEOUT_SECONDS")


@dataclass(frozen=True)
class AuthSettings:
    signing_key_pem: str | None = _var("AUTH_SIGNING_KEY", "AUTH_SIGNING_KEY_FILE")
    access_token_ttl: int = _var("ACCESS_TOKEN_TTL_SECONDS")
    refresh_token_ttl: int = _var("REFRESH_TOKEN_TTL_SECONDS")
    login_max_failures: int = _var("LOGIN_MAX_FAILURES")  # per e-mail address and client address
    login_max_failures_per_address: int = _var("LOGIN_MAX_FAILURES_PER_ADDRESS")  # from all clients together
    login_window_seconds: int = _var("LOGIN_WINDOW_SECONDS")
    trusted_proxy_hops: int = _var("TRUSTED_PROXY_HOPS")  # proxies whose X-Forwarded-For entry is believed
    email_verification_ttl: int = _var("EMAIL_VERIFICATION_TTL_SECONDS")
    email_verification_url: str | None = _var("EMAIL_VERIFICATION_URL")  # the token is appended as #token=…
    invitation_ttl: int = _var("INVITATION_TTL_SECONDS")
    mail: MailSettings


@dataclass(frozen=True)
class JobsSettings:
    backend: str = _var("JOB_BACKEND")  # "local" or "kubernetes"
    token_secret: str | None = _var("JOB_TOKEN_SECRET")
    default_deadline: int = _var("JOB_DEFAULT_DEADLINE_SECONDS")
    max_deadline: int = _var("JOB_MAX_DEADLINE_SECONDS")
    sync_wait: float = _var("SYNC_WAIT_SECONDS")
    queue_timeout: int = _var("JOB_QUEUE_TIMEOUT_SECONDS")
    redispatch_after: int = _var("JOB_REDISPATCH_AFTER_SECONDS")
    deadline_grace: int = _var("JOB_DEADLINE_GRACE_SECONDS")
    lost_grace: float = _var("JOB_LOST_GRACE_SECONDS")
    max_result_bytes: int = _var("JOB_MAX_RESULT_BYTES")
    max_log_bytes: int = _var("JOB_MAX_LOG_BYTES")
    progress_interval: float = _var("JOB_PROGRESS_INTERVAL_SECONDS")

    def executor_env(self) -> dict[str, str]:
        """The job settings the executor reads itself, handed on to it."""
        return {
            "JOB_PROGRESS_INTERVAL_SECONDS": repr(self.progress_interval),
            "JOB_MAX_RESULT_BYTES": str(self.max_result_bytes),
            "JOB_MAX_LOG_BYTES": str(self.max_log_bytes),
        }


@dataclass(frozen=True)
class LocalBackendSettings:
    concurrency: int = _var("JOB_CONCURRENCY")
    cancel_grace: float = _var("JOB_CANCEL_GRACE_SECONDS")
    memory_limit_mb: int = _var("JOB_MEMORY_LIMIT_MB")  # 0: none


# Variables a Kubernetes executor gets from the dispatcher's environment unless
# EXECUTOR_PASS_ENV names others.
DEFAULT_PASS_ENV = ("BOARDRUN_ENV", "STORAGE_URL", "S3_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "K_SINK",
                    "LOG_LEVEL")


@dataclass(frozen=True)
class KubernetesSettings:
    image: str | None = _var("EXECUTOR_IMAGE")  # required by the backend, not by every process
    namespace: str = _var("K8S_JOBS_NAMESPACE")
    image_pull_policy: str = _var("EXECUTOR_IMAGE_PULL_POLICY")
    service_account: str = _var("EXECUTOR_SERVICE_ACCOUNT")
    cpu_request: str = _var("EXECUTOR_CPU_REQUEST")
    cpu_limit: str = _var("EXECUTOR_CPU_LIMIT")
    memory_request: str = _var("EXECUTOR_MEMORY_REQUEST")
    memory_limit: str = _var("EXECUTOR_MEMORY_LIMIT")
    tmp_size_limit: str = _var("EXECUTOR_TMP_SIZE_LIMIT")
    ttl_seconds: int = _var("EXECUTOR_TTL_SECONDS")
    runtime_class: str | None = _var("EXECUTOR_RUNTIME_CLASS")
    image_pull_secrets: tuple[str, ...] = _var("EXECUTOR_IMAGE_PULL_SECRETS")
    env_secret: str | None = _var("EXECUTOR_ENV_SECRET")
    # EXECUTOR_PASS_ENV's names with the values this process has (the executors' plain variables)
    passed_env: Mapping[str, str] = _var("EXECUTOR_PASS_ENV")
    connect_timeout: float = _var("K8S_CONNECT_TIMEOUT_SECONDS")
    read_timeout: float = _var("K8S_READ_TIMEOUT_SECONDS")
    kubeconfig: str | None = _var("KUBECONFIG")
    in_cluster: bool = _var("KUBERNETES_SERVICE_HOST")  # Kubernetes sets it in every pod


@dataclass(frozen=True)
class AISettings:
    openai_base_url: str | None = _var("OPENAI_BASE_URL")
    openai_api_key: str | None = _var("OPENAI_API_KEY")
    default_model: str = _var("AI_DEFAULT_MODEL")
    default_embedding_model: str = _var("AI_DEFAULT_EMBEDDING_MODEL")
    providers: str | None = _var("AI_PROVIDERS")  # JSON or a file's path, parsed by the engine's AI nodes
    timeout_seconds: float = _var("AI_TIMEOUT_SECONDS")
    max_retries: int = _var("AI_MAX_RETRIES")
    # Every AI_*/OPENAI_* variable: a provider's `api_key_env` names one of them.
    variables: Mapping[str, str]


# The public tile servers Flow-Like's Get Map Image uses, by its style names.
GEO_TILE_URLS = {
    "Standard": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "Satellite": "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
    "Terrain": "https://tile.opentopomap.org/{z}/{x}/{y}.png",
    "Dark": "https://tiles.stadiamaps.com/tiles/alidade_smooth_dark/{z}/{x}/{y}.png",
}


@dataclass(frozen=True)
class EngineSettings:
    http_allow_private: bool = _var("ENGINE_HTTP_ALLOW_PRIVATE")
    http_timeout_seconds: float = _var("ENGINE_HTTP_TIMEOUT_SECONDS")
    http_max_response_bytes: int = _var("ENGINE_HTTP_MAX_RESPONSE_BYTES")
    files_max_bytes: int = _var("ENGINE_FILES_MAX_BYTES")
    files_max_list: int = _var("ENGINE_FILES_MAX_LIST")
    files_virtual_max_bytes: int = _var("ENGINE_FILES_VIRTUAL_MAX_BYTES")
    files_allow_external_s3: bool = _var("ENGINE_FILES_ALLOW_EXTERNAL_S3")
    files_azure_blob_url: str = _var("ENGINE_FILES_AZURE_BLOB_URL")
    files_gcs_url: str = _var("ENGINE_FILES_GCS_URL")
    files_root: str = _var("ENGINE_FILES_ROOT")  # the engine CLI's folder of app folders
    geo_nominatim_url: str = _var("ENGINE_GEO_NOMINATIM_URL")
    geo_osrm_url: str = _var("ENGINE_GEO_OSRM_URL")
    geo_user_agent: str = _var("ENGINE_GEO_USER_AGENT")
    # (style, URL template) of Get Map Image's tile servers, by Flow-Like's style names.
    geo_tile_urls: tuple[tuple[str, str], ...] = _var(*(f"ENGINE_GEO_TILES_{style.upper()}_URL" for style in GEO_TILE_URLS))
    image_max_pixels: int = _var("ENGINE_IMAGE_MAX_PIXELS")
    image_max_run_bytes: int = _var("ENGINE_IMAGE_MAX_RUN_BYTES")
    # Names boards may read (get_env) and the local backend passes to executors.
    env_allowlist: frozenset[str] = _var("ENGINE_ENV_ALLOWLIST")
    ai: AISettings


@dataclass(frozen=True)
class EventingSettings:
    sink: str | None = _var("K_SINK")  # the broker; the embedded server fills in its own
    events_dir: Path = _var("EVENTS_DIR")
    broker_workers: int = _var("BROKER_WORKERS")


@dataclass(frozen=True)
class HubSettings:
    """The hub document's variables; `boardrun.hub.config` merges them over HUB_CONFIG_FILE."""

    name: str | None = _var("HUB_NAME")
    description: str | None = _var("HUB_DESCRIPTION")
    icon: str | None = _var("HUB_ICON")
    thumbnail: str | None = _var("HUB_THUMBNAIL")
    legal_notice_url: str | None = _var("HUB_LEGAL_NOTICE_URL")
    legal_notice_text: str | None = _var("HUB_LEGAL_NOTICE_TEXT")
    privacy_policy_url: str | None = _var("HUB_PRIVACY_POLICY_URL")
    privacy_policy_text: str | None = _var("HUB_PRIVACY_POLICY_TEXT")
    terms_url: str | None = _var("HUB_TERMS_URL")
    terms_text: str | None = _var("HUB_TERMS_TEXT")
    contact_name: str | None = _var("HUB_CONTACT_NAME")
    contact_email: str | None = _var("HUB_CONTACT_EMAIL")
    contact_url: str | None = _var("HUB_CONTACT_URL")
    config_file: str | None = _var("HUB_CONFIG_FILE")
    catalog_max_age: int = _var("CATALOG_MAX_AGE_SECONDS")
    commit: str | None = _var("BOARDRUN_COMMIT")


OAUTH_KINDS = ("oidc", "github")
GITHUB_DEFAULTS = {
    "authorize_url": "https://github.com/login/oauth/authorize",
    "token_url": "https://github.com/login/oauth/access_token",
    "api_base_url": "https://api.github.com",
}


@dataclass(frozen=True)
class OAuthProvider:
    """One sign-in provider. `<ID>` is its id upper-cased with "-" turned into "_"."""

    id: str
    kind: str = _var("OAUTH_<ID>_KIND")  # default: github for the id "github", else oidc
    display_name: str = _var("OAUTH_<ID>_DISPLAY_NAME")
    client_id: str = _var("OAUTH_<ID>_CLIENT_ID")
    client_secret: str = _var("OAUTH_<ID>_CLIENT_SECRET")
    scopes: str = _var("OAUTH_<ID>_SCOPES")  # space separated
    discovery_url: str | None = _var("OAUTH_<ID>_DISCOVERY_URL")  # OIDC: .well-known/openid-configuration
    authorize_url: str | None = _var("OAUTH_<ID>_AUTHORIZE_URL")  # GitHub, or an override of the discovered one
    token_url: str | None = _var("OAUTH_<ID>_TOKEN_URL")
    api_base_url: str | None = _var("OAUTH_<ID>_API_BASE_URL")  # GitHub API
    # A front-end URL: the callback then answers 302 there with the tokens in the URL fragment.
    frontend_redirect_uri: str | None = _var("OAUTH_<ID>_REDIRECT_URI")
    callback_url: str  # PUBLIC_URL/api/v1/oauth/<id>/callback, to register at the provider

    @property
    def start_path(self) -> str:
        return f"/api/v1/oauth/{self.id}"

    def public(self) -> dict:
        """What clients may see: never the client secret."""
        return {"id": self.id, "name": self.display_name, "kind": self.kind, "url": self.start_path}


@dataclass(frozen=True)
class OAuthSettings:
    # In the order of OAUTH_PROVIDERS.
    providers: Mapping[str, OAuthProvider] = _var("OAUTH_PROVIDERS")
    state_ttl: int = _var("OAUTH_STATE_TTL_SECONDS")
    http_timeout: float = _var("OAUTH_HTTP_TIMEOUT_SECONDS")
    metadata_cache_seconds: int = _var("OAUTH_METADATA_CACHE_SECONDS")


@dataclass(frozen=True)
class ServerSettings:
    host: str = _var("HOST")
    port: int = _var("PORT")
    threads: int = _var("THREADS")
    tick_seconds: float = _var("TICK_SECONDS")
    public_url: str = _var("PUBLIC_URL")
    log_level: str = _var("LOG_LEVEL")
    max_body_bytes: int = _var("MAX_BODY_BYTES")
    max_board_bytes: int = _var("MAX_BOARD_BYTES")


@dataclass(frozen=True)
class Settings:
    env: str = _var("BOARDRUN_ENV")  # "embedded" (local defaults allowed) or "production" (nothing generated)
    data_dir: Path = _var("DATA_DIR")
    database: DatabaseSettings
    storage: StorageSettings
    auth: AuthSettings
    jobs: JobsSettings
    local: LocalBackendSettings
    kubernetes: KubernetesSettings
    engine: EngineSettings
    eventing: EventingSettings
    hub: HubSettings
    oauth: OAuthSettings
    server: ServerSettings

    @property
    def production(self) -> bool:
        return self.env == "production"


def variables() -> list[str]:
    """Every variable the tree is read from, in tree order (OAuth ones with `<ID>`)."""

    def walk(cls) -> Iterator[str]:
        for f in fields(cls):
            yield from f.metadata.get("env", ())
            if isinstance(f.type, str) and f.type in _NESTED:
                yield from walk(_NESTED[f.type])

    return list(dict.fromkeys([*walk(Settings), *walk(OAuthProvider)]))


_NESTED = {cls.__name__: cls for cls in (DatabaseSettings, StorageSettings, MailSettings, AuthSettings, JobsSettings,
                                          LocalBackendSettings, KubernetesSettings, AISettings, EngineSettings,
                                          EventingSettings, HubSettings, OAuthSettings, ServerSettings)}


# -- reading -----------------------------------------------------------------------------------


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class _Reader:
    """Typed reads of one environment; every malformed value is a ConfigError naming it.
    An empty value counts as unset, as shells and manifests often leave them."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return value if value else None

    def string(self, name: str, default: T = None) -> str | T:  # type: ignore[assignment]
        value = self.raw(name)
        return value.strip() if value is not None and value.strip() else default

    def _parse(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        value = self.raw(name)
        if value is None or not value.strip():
            return default
        try:
            return parse(value.strip())
        except ValueError:
            raise ConfigError(f"{name} must be {expected}, got {value!r}") from None

    def integer(self, name: str, default: int, minimum: int = 0) -> int:
        def parse(text: str) -> int:
            number = int(text)
            if number < minimum:
                raise ValueError(text)
            return number

        return self._parse(name, default, parse, f"an integer of at least {minimum}")

    def number(self, name: str, default: float, minimum: float = 0.0, above: bool = False,
              maximum: float | None = None) -> float:
        def parse(text: str) -> float:
            number = float(text)
            if number != number or (number <= minimum if above else number < minimum) or (
                    maximum is not None and number > maximum):
                raise ValueError(text)
            return number

        bound = f"greater than {minimum:g}" if above else f"at least {minimum:g}"
        if maximum is not None:
            bound += f" and at most {maximum:g}"
        return self._parse(name, default, parse, f"a number {bound}")

    def flag(self, name: str, default: bool) -> bool:
        def parse(text: str) -> bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)

        return self._parse(name, default, parse, "true or false (also 1/0, yes/no, on/off)")

    def choice(self, name: str, default: str, choices: tuple[str, ...], fold: bool = True) -> str:
        value = self.string(name, default)
        value = value.lower() if fold else value
        if value not in choices:
            raise ConfigError(f"{name} must be {' or '.join(repr(c) for c in choices)}, got {value!r}")
        return value

    def text(self, name: str, default: str) -> str:
        """A value where set-but-empty means "none" (a Kubernetes resource left unset)."""
        value = self.environ.get(name)
        return default if value is None else value.strip()

    def csv(self, name: str) -> tuple[str, ...]:
        return tuple(p.strip() for p in (self.raw(name) or "").split(",") if p.strip())

    def secret(self, name: str, file_name: str) -> str | None:
        """A secret given as the value itself or as a file holding it (a mounted Secret)."""
        value = self.raw(name)
        path = self.raw(file_name)
        if value or not path:
            return value
        try:
            return Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"{file_name} {path!r} cannot be read: {exc}") from None


def _mail(r: _Reader) -> MailSettings:
    password = r.secret("SMTP_PASSWORD", "SMTP_PASSWORD_FILE")
    return MailSettings(
        smtp_host=r.string("SMTP_HOST"),
        smtp_port=r.integer("SMTP_PORT", 587, minimum=1),
        username=r.string("SMTP_USERNAME"),
        password=password.strip() if password else None,
        sender=r.string("SMTP_FROM", "boardrun@localhost"),
        starttls=r.flag("SMTP_STARTTLS", True),
        timeout=r.number("SMTP_TIMEOUT_SECONDS", 10.0, above=True),
    )


def _auth(r: _Reader) -> AuthSettings:
    return AuthSettings(
        signing_key_pem=r.secret("AUTH_SIGNING_KEY", "AUTH_SIGNING_KEY_FILE"),
        access_token_ttl=r.integer("ACCESS_TOKEN_TTL_SECONDS", 900, minimum=1),
        refresh_token_ttl=r.integer("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600, minimum=1),
        login_max_failures=r.integer("LOGIN_MAX_FAILURES", 5, minimum=1),
        login_max_failures_per_address=r.integer("LOGIN_MAX_FAILURES_PER_ADDRESS", 50, minimum=1),
        login_window_seconds=r.integer("LOGIN_WINDOW_SECONDS", 300, minimum=1),
        trusted_proxy_hops=r.integer("TRUSTED_PROXY_HOPS", 0),
        email_verification_ttl=r.integer("EMAIL_VERIFICATION_TTL_SECONDS", 24 * 3600),
        email_verification_url=r.string("EMAIL_VERIFICATION_URL"),
        invitation_ttl=r.integer("INVITATION_TTL_SECONDS", 14 * 24 * 3600),
        mail=_mail(r),
    )


def _jobs(r: _Reader) -> JobsSettings:
    default_deadline = r.integer("JOB_DEFAULT_DEADLINE_SECONDS", 600, minimum=1)
    max_deadline = r.integer("JOB_MAX_DEADLINE_SECONDS", 3600, minimum=1)
    if default_deadline > max_deadline:
        raise ConfigError(f"JOB_DEFAULT_DEADLINE_SECONDS ({default_deadline}) must not exceed "
                          f"JOB_MAX_DEADLINE_SECONDS ({max_deadline})")
    return JobsSettings(
        backend=r.choice("JOB_BACKEND", "local", ("local", "kubernetes")),
        token_secret=r.raw("JOB_TOKEN_SECRET"),
        default_deadline=default_deadline,
        max_deadline=max_deadline,
        sync_wait=float(r.integer("SYNC_WAIT_SECONDS", 30)),
        queue_timeout=r.integer("JOB_QUEUE_TIMEOUT_SECONDS", 3600),
        redispatch_after=r.integer("JOB_REDISPATCH_AFTER_SECONDS", 60),
        deadline_grace=r.integer("JOB_DEADLINE_GRACE_SECONDS", 30),
        lost_grace=r.number("JOB_LOST_GRACE_SECONDS", 30.0),
        max_result_bytes=r.integer("JOB_MAX_RESULT_BYTES", 10 * 1024 * 1024, minimum=1),
        max_log_bytes=r.integer("JOB_MAX_LOG_BYTES", 1024 * 1024, minimum=1),
        progress_interval=r.number("JOB_PROGRESS_INTERVAL_SECONDS", 1.0),
    )


def _local(r: _Reader) -> LocalBackendSettings:
    return LocalBackendSettings(
        concurrency=r.integer("JOB_CONCURRENCY", 4),
        cancel_grace=r.number("JOB_CANCEL_GRACE_SECONDS", 5.0),
        memory_limit_mb=r.integer("JOB_MEMORY_LIMIT_MB", 1024),
    )


def _kubernetes(r: _Reader) -> KubernetesSettings:
    pass_env = DEFAULT_PASS_ENV if r.environ.get("EXECUTOR_PASS_ENV") is None else r.csv("EXECUTOR_PASS_ENV")
    return KubernetesSettings(
        image=r.string("EXECUTOR_IMAGE"),
        namespace=r.string("K8S_JOBS_NAMESPACE", "flow-like-jobs"),
        image_pull_policy=r.choice("EXECUTOR_IMAGE_PULL_POLICY", "IfNotPresent", ("Always", "IfNotPresent", "Never"),
                                   fold=False),
        service_account=r.string("EXECUTOR_SERVICE_ACCOUNT", "boardrun-executor"),
        cpu_request=r.text("EXECUTOR_CPU_REQUEST", "250m"),
        cpu_limit=r.text("EXECUTOR_CPU_LIMIT", "2"),
        memory_request=r.text("EXECUTOR_MEMORY_REQUEST", "256Mi"),
        memory_limit=r.text("EXECUTOR_MEMORY_LIMIT", "1Gi"),
        tmp_size_limit=r.text("EXECUTOR_TMP_SIZE_LIMIT", "1Gi"),
        ttl_seconds=r.integer("EXECUTOR_TTL_SECONDS", 3600),
        runtime_class=r.string("EXECUTOR_RUNTIME_CLASS"),
        image_pull_secrets=r.csv("EXECUTOR_IMAGE_PULL_SECRETS"),
        env_secret=r.string("EXECUTOR_ENV_SECRET"),
        passed_env=MappingProxyType({name: r.environ[name] for name in pass_env if r.raw(name)}),
        connect_timeout=r.number("K8S_CONNECT_TIMEOUT_SECONDS", 5.0, above=True),
        read_timeout=r.number("K8S_READ_TIMEOUT_SECONDS", 20.0, above=True),
        kubeconfig=r.string("KUBECONFIG"),
        in_cluster=r.raw("KUBERNETES_SERVICE_HOST") is not None,
    )


def _ai(r: _Reader) -> AISettings:
    return AISettings(
        openai_base_url=r.string("OPENAI_BASE_URL"),
        openai_api_key=r.string("OPENAI_API_KEY"),
        default_model=r.string("AI_DEFAULT_MODEL", "gpt-4o-mini"),
        default_embedding_model=r.string("AI_DEFAULT_EMBEDDING_MODEL", "text-embedding-3-small"),
        providers=r.string("AI_PROVIDERS"),
        timeout_seconds=r.number("AI_TIMEOUT_SECONDS", 120.0, minimum=0.1, maximum=3600),
        max_retries=_bounded(r.integer("AI_MAX_RETRIES", 3), "AI_MAX_RETRIES", 10),
        variables=MappingProxyType({k: v for k, v in r.environ.items() if k.startswith(("AI_", "OPENAI_"))}),
    )


def _bounded(value: int, name: str, maximum: int) -> int:
    if value > maximum:
        raise ConfigError(f"{name} must be an integer of at most {maximum}, got {value}")
    return value


def _engine(r: _Reader) -> EngineSettings:
    return EngineSettings(
        http_allow_private=r.flag("ENGINE_HTTP_ALLOW_PRIVATE", False),
        http_timeout_seconds=r.number("ENGINE_HTTP_TIMEOUT_SECONDS", 30.0, above=True),
        http_max_response_bytes=r.integer("ENGINE_HTTP_MAX_RESPONSE_BYTES", 10 * 1024 * 1024, minimum=1),
        files_max_bytes=r.integer("ENGINE_FILES_MAX_BYTES", 64 * 1024 * 1024, minimum=1),
        files_max_list=r.integer("ENGINE_FILES_MAX_LIST", 10_000, minimum=1),
        files_virtual_max_bytes=r.integer("ENGINE_FILES_VIRTUAL_MAX_BYTES", 64 * 1024 * 1024),
        files_allow_external_s3=r.flag("ENGINE_FILES_ALLOW_EXTERNAL_S3", False),
        files_azure_blob_url=r.string("ENGINE_FILES_AZURE_BLOB_URL", "https://{account}.blob.core.windows.net").rstrip("/"),
        files_gcs_url=r.string("ENGINE_FILES_GCS_URL", "https://storage.googleapis.com").rstrip("/"),
        files_root=r.string("ENGINE_FILES_ROOT", "boardrun-files"),
        geo_nominatim_url=r.string("ENGINE_GEO_NOMINATIM_URL", "https://nominatim.openstreetmap.org").rstrip("/"),
        geo_osrm_url=r.string("ENGINE_GEO_OSRM_URL", "https://router.project-osrm.org").rstrip("/"),
        geo_user_agent=r.string("ENGINE_GEO_USER_AGENT", f"Boardrun/{__version__} (self-hosted Flow-Like board engine)"),
        geo_tile_urls=tuple((style, r.string(f"ENGINE_GEO_TILES_{style.upper()}_URL", url))
                            for style, url in GEO_TILE_URLS.items()),
        image_max_pixels=r.integer("ENGINE_IMAGE_MAX_PIXELS", 25_000_000, minimum=1),
        image_max_run_bytes=r.integer("ENGINE_IMAGE_MAX_RUN_BYTES", 512 * 1024 * 1024, minimum=1),
        env_allowlist=frozenset(r.csv("ENGINE_ENV_ALLOWLIST")),
        ai=_ai(r),
    )


def _eventing(r: _Reader) -> EventingSettings:
    return EventingSettings(
        sink=r.string("K_SINK"),
        events_dir=Path(r.string("EVENTS_DIR") or Path(__file__).resolve().parents[1] / "events"),
        broker_workers=r.integer("BROKER_WORKERS", 8, minimum=1),
    )


def _hub(r: _Reader) -> HubSettings:
    return HubSettings(
        name=r.string("HUB_NAME"), description=r.string("HUB_DESCRIPTION"), icon=r.string("HUB_ICON"),
        thumbnail=r.string("HUB_THUMBNAIL"),
        legal_notice_url=r.string("HUB_LEGAL_NOTICE_URL"), legal_notice_text=r.string("HUB_LEGAL_NOTICE_TEXT"),
        privacy_policy_url=r.string("HUB_PRIVACY_POLICY_URL"), privacy_policy_text=r.string("HUB_PRIVACY_POLICY_TEXT"),
        terms_url=r.string("HUB_TERMS_URL"), terms_text=r.string("HUB_TERMS_TEXT"),
        contact_name=r.string("HUB_CONTACT_NAME"), contact_email=r.string("HUB_CONTACT_EMAIL"),
        contact_url=r.string("HUB_CONTACT_URL"),
        config_file=r.string("HUB_CONFIG_FILE"),
        catalog_max_age=r.integer("CATALOG_MAX_AGE_SECONDS", 3600),
        commit=r.string("BOARDRUN_COMMIT"),
    )


_OAUTH_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")


def _oauth_provider(r: _Reader, provider_id: str, public_url: str) -> OAuthProvider:
    prefix = "OAUTH_" + provider_id.upper().replace("-", "_")

    def get(name: str) -> str | None:
        return r.string(f"{prefix}_{name}")

    kind = (get("KIND") or ("github" if provider_id == "github" else "oidc")).lower()
    if kind not in OAUTH_KINDS:
        raise ConfigError(f"{prefix}_KIND must be one of {', '.join(OAUTH_KINDS)}, got {kind!r}")
    client_id, client_secret = get("CLIENT_ID"), get("CLIENT_SECRET")
    if not client_id or not client_secret:
        raise ConfigError(f"{prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET are required for provider {provider_id!r}")
    discovery = get("DISCOVERY_URL")
    if kind == "oidc" and not discovery:
        raise ConfigError(f"{prefix}_DISCOVERY_URL is required for the OpenID Connect provider {provider_id!r}")
    defaults = GITHUB_DEFAULTS if kind == "github" else {}
    return OAuthProvider(
        id=provider_id,
        kind=kind,
        display_name=get("DISPLAY_NAME") or ("GitHub" if kind == "github" else provider_id.capitalize()),
        client_id=client_id,
        client_secret=client_secret,
        scopes=get("SCOPES") or ("read:user user:email" if kind == "github" else "openid email profile"),
        discovery_url=discovery,
        authorize_url=get("AUTHORIZE_URL") or defaults.get("authorize_url"),
        token_url=get("TOKEN_URL") or defaults.get("token_url"),
        api_base_url=(get("API_BASE_URL") or defaults.get("api_base_url") or "").rstrip("/") or None,
        frontend_redirect_uri=get("REDIRECT_URI"),
        callback_url=f"{public_url}/api/v1/oauth/{provider_id}/callback",
    )


def _oauth(r: _Reader, public_url: str) -> OAuthSettings:
    providers: dict[str, OAuthProvider] = {}
    for provider_id in (p.lower() for p in r.csv("OAUTH_PROVIDERS")):
        if not _OAUTH_ID.match(provider_id):
            raise ConfigError(f"OAUTH_PROVIDERS: {provider_id!r} is not a valid provider id ([a-z0-9_-], at most 64)")
        providers[provider_id] = _oauth_provider(r, provider_id, public_url)
    return OAuthSettings(
        providers=MappingProxyType(providers),
        state_ttl=r.integer("OAUTH_STATE_TTL_SECONDS", 600),
        http_timeout=float(r.integer("OAUTH_HTTP_TIMEOUT_SECONDS", 10, minimum=1)),
        metadata_cache_seconds=r.integer("OAUTH_METADATA_CACHE_SECONDS", 3600),
    )


_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "WARN", "INFO", "DEBUG")


def _server(r: _Reader) -> ServerSettings:
    port = r.integer("PORT", 8080, minimum=1)
    if port > 65535:
        raise ConfigError(f"PORT must be a port number (1-65535), got {port}")
    level = r.string("LOG_LEVEL", "INFO").upper()
    if level not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {level!r}")
    return ServerSettings(
        host=r.string("HOST", "127.0.0.1"),
        port=port,
        threads=r.integer("THREADS", 16, minimum=1),
        tick_seconds=r.number("TICK_SECONDS", 5.0, above=True),
        public_url=r.string("PUBLIC_URL", f"http://localhost:{port}").rstrip("/"),
        log_level=level,
        max_body_bytes=r.integer("MAX_BODY_BYTES", 1024 * 1024, minimum=1),
        max_board_bytes=r.integer("MAX_BOARD_BYTES", 4 * 1024 * 1024, minimum=1),
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings an environment describes (os.environ by default); ConfigError naming
    the first malformed variable."""
    r = _Reader(os.environ if environ is None else environ)
    env = r.choice("BOARDRUN_ENV", "embedded", ("embedded", "production"))
    production = env == "production"
    data_dir = Path(r.string("DATA_DIR", "./.data")).resolve()
    server = _server(r)
    # In production nothing is defaulted: a missing value stays empty and the code that
    # needs it (db, storage, tokens) fails with a ConfigError naming it.
    return Settings(
        env=env,
        data_dir=data_dir,
        database=DatabaseSettings(url=r.string("DATABASE_URL", "" if production else f"sqlite:///{data_dir / 'boardrun.db'}")),
        storage=StorageSettings(url=r.string("STORAGE_URL", "" if production else f"file://{data_dir / 'storage'}"),
                                s3_endpoint_url=r.string("S3_ENDPOINT_URL")),
        auth=_auth(r),
        jobs=_jobs(r),
        local=_local(r),
        kubernetes=_kubernetes(r),
        engine=_engine(r),
        eventing=_eventing(r),
        hub=_hub(r),
        oauth=_oauth(r, server.public_url),
        server=server,
    )


_lock = threading.Lock()
_current: Settings | None = None


def get_settings() -> Settings:
    """This process's settings, read from the environment on first use."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = load_settings()
    return _current


def use_settings(settings: Settings | None) -> None:
    """Install `settings` as the process's (None: read the environment again on next use).
    Only `boardrun.services.reset` calls it, so the services built from the old settings
    go with them."""
    global _current
    with _lock:
        _current = settings


def settings_or_exit() -> Settings:
    """The process's settings, checked at start-up: a malformed variable ends the process
    with one line naming it (exit status 2), not with a traceback at the first request."""
    try:
        return get_settings()
    except ConfigError as exc:
        print(f"boardrun: configuration error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


__all__ = ["ConfigError", "Settings", "get_settings", "load_settings", "settings_or_exit", "use_settings", "variables"]
