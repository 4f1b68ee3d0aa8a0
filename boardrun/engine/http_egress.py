"""Outbound HTTP for the web nodes, behind an egress policy.

Boards are user content, so by default they may not reach private, loopback, link-local
(including the 169.254.169.254 metadata service), multicast or otherwise non-global addresses.
The host is resolved once, every resolved address is checked, and the connection is then made to
the checked address itself (the Host header and TLS server name keep the original host name), so
a second DNS answer cannot point the request somewhere else (DNS rebinding). Redirects are
followed by hand and every hop is checked again.

httpx is imported lazily: importing the engine must stay cheap for the catalogue endpoint.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import NodeError

_REDIRECTS = {301, 302, 303, 307, 308}


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class EgressPolicy:
    """Where HTTP nodes may connect, and how long and how much they may read.

    ``allowed_hosts``: when given, only these host names may be contacted (exact match, case
    insensitive; an entry ``*.example.com`` matches sub-domains). The address check still applies
    unless ``allow_private`` is set, so ``allow_private=True`` plus one allowed host opens exactly
    one internal service.
    """

    allow_private: bool = False
    allowed_hosts: frozenset[str] | None = None
    timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 10.0
    max_response_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "EgressPolicy":
        """Read ENGINE_HTTP_ALLOW_PRIVATE, ENGINE_HTTP_TIMEOUT_SECONDS, ENGINE_HTTP_MAX_RESPONSE_BYTES."""
        env = os.environ if environ is None else environ
        base = cls()
        timeout = float(env.get("ENGINE_HTTP_TIMEOUT_SECONDS", base.timeout_seconds))
        return cls(
            allow_private=_env_bool(env.get("ENGINE_HTTP_ALLOW_PRIVATE", "false")),
            timeout_seconds=timeout,
            connect_timeout_seconds=min(timeout, base.connect_timeout_seconds),
            max_response_bytes=int(env.get("ENGINE_HTTP_MAX_RESPONSE_BYTES", base.max_response_bytes)),
        )

    def host_allowed(self, host: str) -> bool:
        if self.allowed_hosts is None:
            return True
        host = host.lower().rstrip(".")
        for entry in self.allowed_hosts:
            entry = entry.lower().rstrip(".")
            if host == entry or (entry.startswith("*.") and host.endswith(entry[1:])):
                return True
        return False


def address_blocked(address: str) -> bool:
    """True for every address that is not plainly a public unicast one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_unspecified or ip.is_reserved)


def resolve_checked(host: str, port: int, policy: EgressPolicy) -> str:
    """Resolve ``host`` and return one address the policy allows, refusing if any answer is blocked."""
    if not policy.host_allowed(host):
        raise NodeError(f"egress refused: host '{host}' is not in the allowed hosts")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NodeError(f"could not resolve host '{host}': {exc}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise NodeError(f"could not resolve host '{host}'")
    if not policy.allow_private:
        # Any blocked answer refuses the host: a mixed answer is a rebinding attempt or a misconfiguration.
        for address in addresses:
            if address_blocked(address):
                raise NodeError(f"egress refused: host '{host}' resolves to non-public address {address}")
    return addresses[0]


@dataclass(frozen=True)
class HttpReply:
    status_code: int
    headers: dict[str, str]
    body: bytes


def send(policy: EgressPolicy, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> HttpReply:
    """Send one request under ``policy``; raises NodeError for refusals and transport failures."""
    import httpx

    timeout = httpx.Timeout(policy.timeout_seconds, connect=policy.connect_timeout_seconds)
    # trust_env=False: an environment proxy would connect on our behalf and skip the address check.
    with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
        current = _parse_url(url)
        for _hop in range(policy.max_redirects + 1):
            reply, location = _send_once(client, policy, method, current, headers, body)
            if location is None:
                return reply
            current = current.join(location)
            if reply.status_code == 303 or (reply.status_code in (301, 302) and method == "POST"):
                method, body = "GET", None
        raise NodeError(f"too many redirects (more than {policy.max_redirects})")


def _parse_url(url: str) -> Any:
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise NodeError(f"invalid URL '{url}': {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise NodeError(f"invalid URL '{url}': only absolute http and https URLs are supported")
    return parsed


def _send_once(client: Any, policy: EgressPolicy, method: str, url: Any, headers: Mapping[str, str],
               body: bytes | None) -> tuple[HttpReply, str | None]:
    import httpx

    url = _parse_url(str(url))
    port = url.port or (443 if url.scheme == "https" else 80)
    address = resolve_checked(url.host, port, policy)
    pinned = url.copy_with(host=address)
    send_headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    send_headers["Host"] = url.netloc.decode("ascii")
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    try:
        request = client.build_request(method, pinned, headers=send_headers, content=body, extensions=extensions)
        response = client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise NodeError(f"HTTP request to '{url}' failed: {type(exc).__name__}: {exc}") from None
    try:
        location = response.headers.get("location")
        if response.status_code in _REDIRECTS and location:
            return HttpReply(response.status_code, {}, b""), location
        chunks = []
        size = 0
        started = time.monotonic()
        # Decoded bytes are counted, so a small compressed body cannot expand past the cap.
        for chunk in response.iter_bytes():
            size += len(chunk)
            if time.monotonic() - started > policy.timeout_seconds:
                raise NodeError(f"response from '{url}' took longer than {policy.timeout_seconds} s to read")
            if size > policy.max_response_bytes:
                raise NodeError(f"response from '{url}' exceeds the limit of {policy.max_response_bytes} bytes")
            chunks.append(chunk)
        reply_headers = {k.lower(): v for k, v in response.headers.items()}
        return HttpReply(response.status_code, reply_headers, b"".join(chunks)), None
    except httpx.HTTPError as exc:
        raise NodeError(f"HTTP request to '{url}' failed: {type(exc).__name__}: {exc}") from None
    finally:
        response.close()


# -- Sockets for the protocol nodes (TCP, UDP, WebSocket, e-mail, MQTT) ------------------------
# The same rule as for HTTP: resolve once, check every answer, connect to the checked address.


def check_port(port: int, what: str = "port") -> int:
    if type(port) is not int or not 1 <= port <= 65535:
        raise NodeError(f"{what} must be an integer from 1 to 65535, got {port!r}")
    return port


def connect_checked(policy: EgressPolicy, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP socket connected to the checked address of ``host``; reads time out after ``timeout`` s.

    Errors name the host and port the board asked for, never anything else it passed (credentials
    travel on the connection, not here).
    """
    check_port(port)
    address = resolve_checked(host, port, policy)
    connect_timeout = max(0.001, min(timeout, policy.connect_timeout_seconds))
    try:
        sock = socket.create_connection((address, port), timeout=connect_timeout)
    except OSError as exc:
        raise NodeError(f"could not connect to {host}:{port}: {exc.strerror or type(exc).__name__}") from None
    sock.settimeout(max(0.001, timeout))
    return sock


def datagram_target(policy: EgressPolicy, host: str, port: int) -> tuple[str, int]:
    """The checked (address, port) a UDP datagram for ``host`` may be sent to."""
    check_port(port)
    return resolve_checked(host, port, policy), port
