"""Outbound HTTP for the web nodes, behind an egress policy.

Boards are user content, so by default they may not reach private, loopback, link-local
(including the 169.254.169.254 metadata service), multicast or otherwise non-global addresses.
The host is resolved once, every resolved address is checked, and the connection is then made to
the checked address itself (the Host header and TLS server name keep the original host name), so
a second DNS answer cannot point the request somewhere else (DNS rebinding). Redirects are
followed by hand: every hop is checked again, and credentials (Authorization, Cookie,
Proxy-Authorization) are not passed on to another origin.

httpx is imported lazily: importing the engine must stay cheap for the catalogue endpoint.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from .. import __version__
from ..config import GEO_TILE_URLS
from .errors import NodeError

if TYPE_CHECKING:
    from boardrun.config import EngineSettings

_REDIRECTS = {301, 302, 303, 307, 308}
# Dropped on a redirect to another origin (scheme, host or port), as browsers and requests do.
_CREDENTIAL_HEADERS = {"authorization", "cookie", "proxy-authorization"}


@dataclass(frozen=True)
class GeoServices:
    """Base URLs of the public geo APIs the Web/Geo nodes call, and the User-Agent they send.

    The defaults are the public endpoints Flow-Like uses. Self-hosters point these at their own
    Nominatim or OSRM (the public ones have usage policies: Nominatim allows about one request a
    second and asks for a User-Agent that identifies the application).
    """

    nominatim_url: str = "https://nominatim.openstreetmap.org"
    osrm_url: str = "https://router.project-osrm.org"
    user_agent: str = f"Boardrun/{__version__} (self-hosted Flow-Like board engine)"
    # Map tile servers of Get Map Image: (style, URL template with {z}, {x} and {y}) pairs.
    tile_urls: tuple[tuple[str, str], ...] = tuple(GEO_TILE_URLS.items())

    @classmethod
    def from_settings(cls, engine: EngineSettings) -> "GeoServices":
        """ENGINE_GEO_NOMINATIM_URL, ENGINE_GEO_OSRM_URL, ENGINE_GEO_USER_AGENT and
        ENGINE_GEO_TILES_<STYLE>_URL (STANDARD, SATELLITE, TERRAIN, DARK)."""
        return cls(nominatim_url=engine.geo_nominatim_url, osrm_url=engine.geo_osrm_url,
                   user_agent=engine.geo_user_agent, tile_urls=engine.geo_tile_urls)

    def tile_url(self, style: str) -> str | None:
        return dict(self.tile_urls).get(style)


@dataclass(frozen=True)
class EgressPolicy:
    """Where HTTP nodes may connect, and how long and how much they may read.

    ``allowed_hosts``: when given, only these host names may be contacted (exact match, case
    insensitive; an entry ``*.example.com`` matches sub-domains). The address check still applies
    unless ``allow_private`` is set, so ``allow_private=True`` plus one allowed host opens exactly
    one internal service. ``geo`` says where the Web/Geo nodes send their requests.
    """

    allow_private: bool = False
    allowed_hosts: frozenset[str] | None = None
    timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 10.0
    max_response_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    geo: GeoServices = GeoServices()

    @classmethod
    def from_settings(cls, engine: EngineSettings) -> "EgressPolicy":
        """ENGINE_HTTP_ALLOW_PRIVATE, ENGINE_HTTP_TIMEOUT_SECONDS, ENGINE_HTTP_MAX_RESPONSE_BYTES
        and the ENGINE_GEO_* variables of :class:`GeoServices`."""
        timeout = engine.http_timeout_seconds
        return cls(
            allow_private=engine.http_allow_private,
            timeout_seconds=timeout,
            connect_timeout_seconds=min(timeout, cls.connect_timeout_seconds),
            max_response_bytes=engine.http_max_response_bytes,
            geo=GeoServices.from_settings(engine),
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


class HttpStream:
    """An answered request whose body has not been read yet (see :func:`open_stream`)."""

    def __init__(self, response: Any, url: Any, policy: EgressPolicy, deadline: float) -> None:
        self._response = response
        self._url = url
        self._policy = policy
        self._deadline = deadline
        self.status_code: int = response.status_code
        self.headers: dict[str, str] = {k.lower(): v for k, v in response.headers.items()}

    def chunks(self) -> Iterator[bytes]:
        """The decoded body in chunks, refused once it passes the size cap or the deadline."""
        import httpx

        size = 0
        try:
            # Decoded bytes are counted, so a small compressed body cannot expand past the cap.
            for chunk in self._response.iter_bytes():
                size += len(chunk)
                if time.monotonic() > self._deadline:
                    raise NodeError(f"response from '{self._url}' was not read in time")
                if size > self._policy.max_response_bytes:
                    raise NodeError(
                        f"response from '{self._url}' exceeds the limit of {self._policy.max_response_bytes} bytes")
                yield chunk
        except httpx.HTTPError as exc:
            raise NodeError(f"HTTP request to '{self._url}' failed: {type(exc).__name__}: {exc}") from None


def send(policy: EgressPolicy, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
         time_left: float | None = None) -> HttpReply:
    """Send one request under ``policy`` and read the whole answer; raises NodeError for refusals and failures.

    The exchange (redirects and the body included) ends within the policy's timeout, or within
    ``time_left`` seconds (the run's remaining time) when that is shorter.
    """
    budget = policy.timeout_seconds if time_left is None else min(policy.timeout_seconds, time_left)
    with open_stream(policy, method, url, headers, body, time.monotonic() + budget) as stream:
        return HttpReply(stream.status_code, stream.headers, b"".join(stream.chunks()))


@contextmanager
def open_stream(policy: EgressPolicy, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                deadline: float) -> Iterator[HttpStream]:
    """Send one request under ``policy``, follow redirects, and hand over the final answer unread.

    ``deadline`` (a ``time.monotonic()`` value) bounds the whole exchange; every single network
    wait is also bounded by the policy's timeouts. The connection is closed on leaving the block.
    """
    import httpx

    # trust_env=False: an environment proxy would connect on our behalf and skip the address check.
    # (httpx itself refuses a malformed Location header while answering, as a transport error.)
    with httpx.Client(trust_env=False, follow_redirects=False) as client:
        current = _parse_url(url)
        headers = dict(headers)
        for _hop in range(policy.max_redirects + 1):
            response = _send_once(client, policy, method, current, headers, body, deadline)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location:
                try:
                    yield HttpStream(response, current, policy, deadline)
                finally:
                    response.close()
                return
            response.close()
            following = _parse_url(str(current.join(location)))
            if _origin(following) != _origin(current):
                # Credentials were meant for the first origin; a redirect must not hand them to another.
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
            current = following
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
        raise NodeError(f"too many redirects (more than {policy.max_redirects})")


def _origin(url: Any) -> tuple[str, str, int]:
    return url.scheme, url.host.lower(), url.port or (443 if url.scheme == "https" else 80)


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
               body: bytes | None, deadline: float) -> Any:
    import httpx

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise NodeError(f"HTTP request to '{url}' not sent: no time left")
    port = url.port or (443 if url.scheme == "https" else 80)
    address = resolve_checked(url.host, port, policy)
    pinned = url.copy_with(host=address)
    send_headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    send_headers["Host"] = url.netloc.decode("ascii")
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    timeout = httpx.Timeout(min(policy.timeout_seconds, remaining),
                            connect=min(policy.connect_timeout_seconds, remaining))
    try:
        request = client.build_request(method, pinned, headers=send_headers, content=body, extensions=extensions,
                                       timeout=timeout)
        return client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise NodeError(f"HTTP request to '{url}' failed: {type(exc).__name__}: {exc}") from None


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
