"""Which OpenAI-compatible providers and models a run may use, and how a Bit maps onto one.

Configuration comes from the settings tree (``settings.engine.ai``; the executor gets every ``AI_*``
and ``OPENAI_*`` variable):

- ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``: the default provider ``openai`` (the ``openai`` SDK's
  own convention). It exists when either is set and serves ``AI_DEFAULT_MODEL`` (chat) and
  ``AI_DEFAULT_EMBEDDING_MODEL`` (embeddings).
- ``AI_PROVIDERS``: more providers, as JSON or as the path of a JSON file: a list of
  ``{"name", "base_url", "api_key" | "api_key_env", "headers", "timeout_seconds", "max_retries",
  "models": [{"id", "name", "type", "context_length", "classification": {...}}]}``. An entry named
  ``openai`` replaces the default provider.
- ``AI_TIMEOUT_SECONDS`` (default 120) and ``AI_MAX_RETRIES`` (default 3): defaults per provider.

A model is described to boards as Flow-Like's ``Bit``; ``parameters.provider.provider_name`` names
the configured provider and ``model_id`` the model. Bits built on the board
(``ai_generative_build_*``) carry ``custom:<kind>`` and their endpoint; their API key stays in the
run's private state, the Bit only holds a reference to it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit

from boardrun.config import AISettings, get_settings

from ..errors import NodeError

if TYPE_CHECKING:
    from ..runtime import NodeContext

TRAITS = ("cost", "speed", "reasoning", "creativity", "factuality", "function_calling", "safety", "openness",
          "multilinguality", "coding")
MODEL_TYPES = ("Llm", "Vlm", "Embedding", "ImageEmbedding")
EMBEDDING_TYPES = ("Embedding", "ImageEmbedding")
# What each purpose of resolve() may be served by, and how a refusal names it.
_PURPOSES = {"chat": (("Llm", "Vlm"), "a chat"), "embedding": (("Embedding",), "an embedding"),
             "image_embedding": (("ImageEmbedding",), "an image embedding")}
DEFAULT_BASE_URL = "https://api.openai.com/v1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_SECRETS_KEY = "ai.secrets"  # run_state slot holding the API keys typed into this run's board


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    type: str = "Llm"
    context_length: int = 128_000
    classification: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    prefix: Mapping[str, str] = field(default_factory=dict)  # embeddings: {"query", "paragraph"}


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_seconds: float = 120.0
    max_retries: int = 3
    models: tuple[Model, ...] = ()
    board_built: bool = False  # the endpoint came from a board: the egress policy applies

    def model(self, model_id: str) -> Model | None:
        return next((m for m in self.models if m.id == model_id), None)


@dataclass(frozen=True)
class Target:
    """One call's destination: a provider and the model id to ask for."""

    provider: Provider
    model: str


class ConfigError(NodeError):
    """The AI configuration in the environment is unusable."""


def _problem(message: str) -> ConfigError:
    return ConfigError(f"AI provider configuration is invalid: {message}")


def _number(value: Any, what: str, minimum: float, maximum: float) -> float:
    if type(value) not in (int, float) or not minimum <= value <= maximum:
        raise _problem(f"{what} must be a number from {minimum} to {maximum}")
    return float(value)


def _model(raw: Any, provider: str) -> Model:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise _problem(f"every model of provider '{provider}' needs a string 'id'")
    model_type = raw.get("type", "Llm")
    if model_type not in MODEL_TYPES:
        raise _problem(f"model '{raw['id']}' of '{provider}': type must be one of {', '.join(MODEL_TYPES)}")
    classification = raw.get("classification", {})
    if not isinstance(classification, dict) or set(classification) - set(TRAITS):
        raise _problem(f"model '{raw['id']}' of '{provider}': classification keys are {', '.join(TRAITS)}")
    weights = {k: _number(v, f"classification '{k}' of model '{raw['id']}'", 0.0, 1.0) for k, v in classification.items()}
    context = raw.get("context_length", 128_000)
    if type(context) is not int or context < 1:
        raise _problem(f"model '{raw['id']}' of '{provider}': context_length must be a positive integer")
    name = raw.get("name", raw["id"])
    if not isinstance(name, str):
        raise _problem(f"model '{raw['id']}' of '{provider}': name must be a string")
    prefix = raw.get("prefix", {})
    if not isinstance(prefix, dict) or set(prefix) - {"query", "paragraph"} or not all(
            isinstance(v, str) for v in prefix.values()):
        raise _problem(f"model '{raw['id']}' of '{provider}': prefix must be {{\"query\": ..., \"paragraph\": ...}}")
    return Model(raw["id"], name, model_type, context, weights, str(raw.get("description", "")), dict(prefix))


def _provider(raw: Any, ai: AISettings) -> Provider:
    if not isinstance(raw, dict):
        raise _problem("AI_PROVIDERS must be a list of objects")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _problem("every provider needs a 'name' of letters, digits, '.', '_' or '-'")
    base_url = raw.get("base_url", ai.openai_base_url or DEFAULT_BASE_URL if name == "openai" else None)
    if not isinstance(base_url, str) or urlsplit(base_url).scheme not in ("http", "https"):
        raise _problem(f"provider '{name}' needs an http or https 'base_url'")
    key = raw.get("api_key")
    if "api_key_env" in raw:
        variable = raw["api_key_env"]
        if not isinstance(variable, str) or not variable.startswith(("AI_", "OPENAI_")):
            raise _problem(f"provider '{name}': api_key_env must name a variable starting with AI_ or OPENAI_")
        key = ai.variables.get(variable)
        if not key:
            raise _problem(f"provider '{name}': the variable {variable} named by api_key_env is not set")
    elif key is None and name == "openai":
        key = ai.openai_api_key
    if key is not None and not isinstance(key, str):
        raise _problem(f"provider '{name}': api_key must be a string")
    headers = raw.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise _problem(f"provider '{name}': headers must be an object of strings")
    timeout = _number(raw.get("timeout_seconds", ai.timeout_seconds), f"timeout_seconds of '{name}'", 0.1, 3600)
    retries = raw.get("max_retries", ai.max_retries)
    if type(retries) is not int or not 0 <= retries <= 10:
        raise _problem(f"provider '{name}': max_retries must be an integer from 0 to 10")
    models = raw.get("models", [])
    if not isinstance(models, list):
        raise _problem(f"provider '{name}': models must be a list")
    parsed = tuple(_model(m, name) for m in models)
    if len({m.id for m in parsed}) != len(parsed):
        raise _problem(f"provider '{name}' lists a model id twice")
    return Provider(name, base_url.rstrip("/"), key or None, dict(headers), timeout, retries, parsed)


def _read_providers_setting(value: str) -> Any:
    text = value.strip()
    if not text.startswith(("[", "{")):
        try:
            with open(text, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise _problem(f"AI_PROVIDERS names a file that cannot be read: {exc.strerror}") from None
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise _problem(f"AI_PROVIDERS is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if isinstance(parsed, dict) and "providers" in parsed:
        parsed = parsed["providers"]
    if not isinstance(parsed, list):
        raise _problem("AI_PROVIDERS must be a list of providers (or an object with a 'providers' list)")
    return parsed


def load_providers(ai: AISettings | None = None) -> dict[str, Provider]:
    """Every configured provider by name (raises ConfigError for a bad configuration)."""
    ai = get_settings().engine.ai if ai is None else ai
    cached = _built.get("providers")
    if cached is not None and cached[0] is ai:
        return cached[1]
    providers = _build(ai)
    _built["providers"] = (ai, providers)
    return providers


# The providers parsed from the settings object they were built from (new settings, new parse).
_built: dict[str, tuple[AISettings, dict[str, Provider]]] = {}


def _build(ai: AISettings) -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    if ai.openai_api_key or ai.openai_base_url:
        providers["openai"] = _provider({"name": "openai", "models": [
            {"id": ai.default_model}, {"id": ai.default_embedding_model, "type": "Embedding"}]}, ai)
    if ai.providers:
        for raw in _read_providers_setting(ai.providers):
            provider = _provider(raw, ai)
            if provider.name in providers and provider.name != "openai":
                raise _problem(f"provider '{provider.name}' is configured twice")
            providers[provider.name] = provider
    return providers


def configured_secrets() -> list[str]:
    """The API keys of the configured providers (for scrubbing messages); [] if unconfigured."""
    try:
        return [p.api_key for p in load_providers().values() if p.api_key]
    except ConfigError:
        return []


# -- Bits --------------------------------------------------------------------------------------

_EPOCH = {"secs_since_epoch": 0, "nanos_since_epoch": 0}


def _metadata(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "description": description, "long_description": None, "release_notes": None, "tags": [],
            "use_case": None, "icon": None, "thumbnail": None, "preview_media": [], "age_rating": None,
            "website": None, "support_url": None, "docs_url": None, "organization_specific_values": None,
            "created_at": _EPOCH, "updated_at": _EPOCH}


def make_bit(bit_id: str, bit_type: str, name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """A Bit in Flow-Like's JSON shape."""
    return {"id": bit_id, "type": bit_type, "meta": {"en": _metadata(name, description)}, "authors": [],
            "repository": None, "download_link": None, "file_name": None, "hash": bit_id, "size": None,
            "hub": "boardrun", "parameters": parameters, "version": None, "license": None, "dependencies": [],
            "dependency_tree_hash": "", "created": "", "updated": ""}


def model_bit(provider: Provider, model: Model) -> dict[str, Any]:
    source = {"provider_name": provider.name, "model_id": model.id, "version": None, "params": None}
    if model.type in EMBEDDING_TYPES:
        parameters: dict[str, Any] = {"provider": source, "input_length": model.context_length,
                                      "prefix": {"query": model.prefix.get("query", ""),
                                                 "paragraph": model.prefix.get("paragraph", "")}}
    else:
        parameters = {"context_length": model.context_length, "provider": source,
                      "model_classification": {t: model.classification.get(t, 0.0) for t in TRAITS}}
    return make_bit(f"{provider.name}:{model.id}", model.type, model.name,
                    model.description or f"{model.id} served by provider '{provider.name}'", parameters)


def remember_secret(ctx: NodeContext, secret: str) -> str:
    """Keep ``secret`` in the run's private state; returns the reference a Bit may carry."""
    secrets: dict[str, str] = ctx.run_state.setdefault(_SECRETS_KEY, {})
    for ref, known in secrets.items():
        if known == secret:
            return ref
    ref = f"run-secret-{len(secrets) + 1}"
    secrets[ref] = secret
    return ref


def run_secrets(ctx: NodeContext) -> list[str]:
    return list(ctx.run_state.get(_SECRETS_KEY, {}).values())


# Board-built providers that speak the OpenAI API, with the API root to use when the endpoint
# given on the board has no path of its own.
OPENAI_COMPATIBLE: dict[str, str] = {
    "openai": "/v1", "azure": "/openai/v1", "ollama": "/v1", "groq": "/openai/v1", "deepseek": "/v1",
    "openrouter": "/api/v1", "together": "/v1", "mistral": "/v1", "xai": "/v1", "perplexity": "",
    "moonshot": "/v1", "hyperbolic": "/v1", "galadriel": "/v1/verified", "huggingface": "/v1",
    "gemini": "/v1beta/openai", "anthropic": "/v1", "cohere": "/compatibility/v1",
}


def api_root(kind: str, endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NodeError(f"the {kind} endpoint '{endpoint}' is not an absolute http or https URL")
    if parts.path.strip("/"):
        return endpoint.rstrip("/")
    return endpoint.rstrip("/") + OPENAI_COMPATIBLE[kind]


def _field(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def resolve(ctx: NodeContext, bit: Any, purpose: str = "chat") -> Target:
    """The provider and model a Bit stands for; NodeError naming what is wrong otherwise."""
    if not isinstance(bit, dict):
        raise NodeError("input 'model' must be a model Bit (from Find Model or a provider node)")
    source = _field(bit, "parameters", "provider")
    name = _field(source, "provider_name")
    model_id = _field(source, "model_id")
    if not isinstance(name, str) or not name:
        raise NodeError(f"the model Bit '{bit.get('id')}' names no provider (parameters.provider.provider_name)")
    if name.startswith("custom:"):
        return _board_target(ctx, name.removeprefix("custom:"), source, model_id)
    providers = load_providers()
    provider = providers.get(name)
    if provider is None:
        known = ", ".join(sorted(providers)) or "none"
        raise NodeError(f"AI provider '{name}' is not configured (configured: {known}; "
                        "set OPENAI_API_KEY/OPENAI_BASE_URL or AI_PROVIDERS)")
    if not isinstance(model_id, str) or not model_id:
        raise NodeError(f"the model Bit for provider '{name}' names no model (parameters.provider.model_id)")
    model = provider.model(model_id)
    if model is None:
        raise NodeError(f"AI provider '{name}' has no model '{model_id}' configured")
    types, wanted = _PURPOSES[purpose]
    if model.type not in types:
        raise NodeError(f"model '{model_id}' of provider '{name}' is not {wanted} model")
    extra = _headers(source)
    if extra:  # from Add Model Headers
        provider = replace(provider, headers={**provider.headers, **extra})
    return Target(provider, model_id)


def _headers(source: dict[str, Any]) -> dict[str, str]:
    headers = _field(source, "params", "headers")
    if headers is None:
        return {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise NodeError("the model Bit's headers must be an object of strings")
    return headers


def _board_target(ctx: NodeContext, kind: str, source: dict[str, Any], model_id: Any) -> Target:
    if kind not in OPENAI_COMPATIBLE:
        raise NodeError(f"AI provider '{kind}' does not speak the OpenAI API; Boardrun runs OpenAI-compatible "
                        "providers only (configure another one in AI_PROVIDERS)")
    params = source.get("params") if isinstance(source.get("params"), dict) else {}
    endpoint = params.get("endpoint")
    if not isinstance(endpoint, str):
        raise NodeError(f"the {kind} model Bit has no endpoint")
    model = params.get("model_id", model_id)
    if not isinstance(model, str) or not model:
        raise NodeError(f"the {kind} model Bit names no model id")
    key = None
    ref = params.get("api_key_ref")
    if ref is not None:
        key = ctx.run_state.get(_SECRETS_KEY, {}).get(ref)
        if key is None:
            raise NodeError(f"the {kind} model Bit refers to an API key of another run; build it in this run")
    headers = _headers(source)
    if kind == "azure" and key:
        headers = {**headers, "api-key": key}
    ai = get_settings().engine.ai
    provider = Provider(kind, api_root(kind, endpoint), key, headers, ai.timeout_seconds, ai.max_retries,
                        (Model(model, model),), board_built=True)
    return Target(provider, model)


def all_model_bits() -> list[tuple[Model, dict[str, Any]]]:
    """Every configured model with its Bit, in configuration order."""
    return [(model, model_bit(provider, model)) for provider in load_providers().values() for model in provider.models]
