"""Calls to OpenAI-compatible providers through the official ``openai`` SDK.

The SDK's own retries are off: this module retries 429 and 5xx answers and connection failures
itself, so that waits between attempts honour ``Retry-After``, the run's cancellation and its
deadline (``ctx.sleep``). Every timeout is bounded by the time the run has left, and streams check
for cancellation between chunks. Messages never carry an API key: everything that can reach an
error text is scrubbed of the keys this run knows.

The SDK is imported on first use only (importing the engine must stay cheap).
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import urlsplit

from .. import http_egress
from ..errors import NodeError
from .providers import Provider, Target, configured_secrets, run_secrets

if TYPE_CHECKING:
    from ..runtime import NodeContext

MAX_BACKOFF_SECONDS = 30.0
MAX_DETAIL_CHARS = 300
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def scrub(ctx: NodeContext, text: str) -> str:
    """``text`` with every API key this run knows replaced by ``***``."""
    for secret in (*configured_secrets(), *run_secrets(ctx)):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _client(provider: Provider) -> Any:
    import openai

    key = (provider.base_url, provider.api_key or "", tuple(sorted(provider.headers.items())), provider.board_built)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            # An endpoint typed into a board was checked against the egress policy: no environment
            # proxy may connect for us and no redirect may lead elsewhere.
            http = openai.DefaultHttpxClient(trust_env=False, follow_redirects=False) if provider.board_built else None
            # A key-less local server (Ollama, vLLM) still needs a non-empty value for the SDK.
            client = openai.OpenAI(api_key=provider.api_key or "unused", base_url=provider.base_url,
                                   max_retries=0, default_headers=dict(provider.headers) or None, http_client=http)
            _clients[key] = client
    return client


def _check_egress(ctx: NodeContext, provider: Provider) -> None:
    """Endpoints typed into a board obey the engine's egress policy, as HTTP nodes do."""
    if not provider.board_built:
        return
    parts = urlsplit(provider.base_url)
    http_egress.resolve_checked(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), ctx.egress)


def _timeout(ctx: NodeContext, provider: Provider) -> float:
    left = ctx.time_left()
    if left <= 0:
        ctx.checkpoint()  # past the deadline: stops the run
    return max(0.05, min(provider.timeout_seconds, left))


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, when.timestamp() - time.time()) if when is not None else None


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str):
        message = getattr(exc, "message", None) or str(exc)
    return message if len(message) <= MAX_DETAIL_CHARS else message[:MAX_DETAIL_CHARS] + "…"


def _failure(ctx: NodeContext, target: Target, exc: Exception) -> NodeError:
    import openai

    name = target.provider.name
    if isinstance(exc, NodeError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        text = f"AI provider '{name}' did not answer in time"
    elif isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        text = f"AI provider '{name}' could not be reached at {target.provider.base_url}: {type(cause).__name__}"
    elif isinstance(exc, openai.APIStatusError):
        text = f"AI provider '{name}' answered HTTP {exc.status_code} for model '{target.model}': {_detail(exc)}"
    elif isinstance(exc, (openai.APIResponseValidationError, ValueError, TypeError, KeyError, AttributeError)):
        text = f"AI provider '{name}' answered something that is not an OpenAI-compatible response"
    else:
        text = f"AI provider '{name}' failed: {type(exc).__name__}: {exc}"
    return NodeError(scrub(ctx, text))


def _retryable(exc: Exception) -> bool:
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)  # includes timeouts


def _with_retries(ctx: NodeContext, target: Target, call: Any) -> Any:
    """Run ``call(timeout)`` until it succeeds, retrying what is worth retrying."""
    provider = target.provider
    attempt = 0
    while True:
        ctx.checkpoint()
        try:
            return call(_timeout(ctx, provider))
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a NodeError below
            if not _retryable(exc) or attempt >= provider.max_retries:
                raise _failure(ctx, target, exc) from None
            wait = _retry_after(exc)
            if wait is None:
                wait = min(MAX_BACKOFF_SECONDS, 0.5 * 2**attempt) * random.uniform(0.8, 1.2)
            if wait >= ctx.time_left():
                raise NodeError(scrub(ctx, f"{_failure(ctx, target, exc)}; retrying in {wait:.1f} s would pass "
                                          "the run's deadline")) from None
            attempt += 1
            ctx.log("Warn", f"AI provider '{provider.name}' failed (attempt {attempt}), retrying in {wait:.1f} s")
            ctx.sleep(wait)


def _plain(value: Any) -> Any:
    """An SDK object as plain JSON values (unknown extra fields included)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, (dict, list, str, int, float, bool)) or value is None:
        return value
    raise TypeError(type(value).__name__)


def complete(ctx: NodeContext, target: Target, body: dict[str, Any]) -> dict[str, Any]:
    """One chat completion without streaming; the OpenAI response as plain JSON."""
    _check_egress(ctx, target.provider)
    client = _client(target.provider)

    def call(timeout: float) -> Any:
        return client.with_options(timeout=timeout).chat.completions.create(**body, stream=False)

    answer = _plain(_with_retries(ctx, target, call))
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        raise _failure(ctx, target, ValueError("no choices"))
    return answer


def stream(ctx: NodeContext, target: Target, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A streamed chat completion: yields each chunk as plain JSON. Checks for cancellation and the
    deadline between chunks; the read timeout bounds the wait for one chunk."""
    _check_egress(ctx, target.provider)
    client = _client(target.provider)

    def call(timeout: float) -> Any:
        return client.with_options(timeout=timeout).chat.completions.create(
            **body, stream=True, stream_options={"include_usage": True})

    response = _with_retries(ctx, target, call)
    try:
        chunks = iter(response)
        while True:
            ctx.checkpoint()
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - a broken stream is the provider's failure
                raise _failure(ctx, target, exc) from None
            data = _plain(chunk)
            if not isinstance(data, dict) or not isinstance(data.get("choices", []), list):
                raise _failure(ctx, target, ValueError("bad chunk"))
            yield data
    finally:
        response.close()


def embed(ctx: NodeContext, target: Target, texts: list[str]) -> list[list[float]]:
    """Embedding vectors of ``texts``, in order."""
    _check_egress(ctx, target.provider)
    client = _client(target.provider)

    def call(timeout: float) -> Any:
        return client.with_options(timeout=timeout).embeddings.create(model=target.model, input=texts)

    return _vectors(ctx, target, _plain(_with_retries(ctx, target, call)), len(texts))


def embed_image(ctx: NodeContext, target: Target, image_url: str) -> list[float]:
    """The embedding vector of one image (a ``data:`` or http URL) from a multimodal embedding model.

    The OpenAI API embeds text only. This sends the form that OpenAI-compatible multimodal servers
    (vLLM and others) accept on the same ``/embeddings`` endpoint: a chat-style ``messages`` list
    whose user message holds the image as an ``image_url`` part.
    """
    _check_egress(ctx, target.provider)
    client = _client(target.provider)
    body = {"model": target.model, "encoding_format": "float",
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": image_url}}]}]}

    def call(timeout: float) -> Any:
        return client.with_options(timeout=timeout).post("/embeddings", body=body, cast_to=object)

    (vector,) = _vectors(ctx, target, _plain(_with_retries(ctx, target, call)), 1)
    return vector


def _vectors(ctx: NodeContext, target: Target, answer: Any, count: int) -> list[list[float]]:
    """The ``count`` vectors of an embeddings answer, in input order."""
    items = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(items, list) or len(items) != count:
        raise _failure(ctx, target, ValueError("wrong number of embeddings"))
    vectors: list[list[float]] = [[] for _ in range(count)]
    for position, item in enumerate(items):
        vector = item.get("embedding") if isinstance(item, dict) else None
        index = item.get("index", position) if isinstance(item, dict) else position
        if (not isinstance(vector, list) or not all(type(x) in (int, float) for x in vector)
                or type(index) is not int or not 0 <= index < count):
            raise _failure(ctx, target, ValueError("bad embedding"))
        vectors[index] = [float(x) for x in vector]
    return vectors
