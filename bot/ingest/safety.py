"""SSRF guard for URLs that arrive from chat (``addsource``, ``test <wl> <URL>``).

Anyone who can type in a chat the bot serves could otherwise make the bot
fetch ``http://169.254.169.254/…`` (cloud metadata), ``http://localhost:6379``
or an intranet page and echo what it finds. :func:`check_public_url` refuses
URLs whose host is, or resolves to, an address that is not on the public
internet: private (RFC 1918, ``fc00::/7``), loopback, link-local, multicast,
reserved, unspecified, shared (``100.64.0.0/10``) — including the same
addresses in disguise: IPv4-mapped IPv6 (``::ffff:127.0.0.1``), 6to4 and
NAT64 prefixes, and the legacy numeric forms that ``inet_aton`` (and so
``getaddrinfo``) accepts: ``http://2130706433/``, ``http://0x7f.1/``,
``http://0177.0.0.1/``.

``ALLOW_PRIVATE_SOURCES=1`` (or ``allow_private=True``) turns the address
check off for deployments whose feeds live on an intranet; the scheme and
host checks stay. The sources of ``sources.yaml`` are the operator's
own and are not fetched through this guard at all (``bot/runtime/service.py``
gives them a plain client).

DNS rebinding and redirects: checking a name and then letting the HTTP client
resolve it again when it connects is not enough (an attacker's DNS server can
answer with a public address for the check and ``127.0.0.1`` a second later,
TTL 0). So the client the bot fetches chat-supplied URLs with
(:func:`guarded_client`) resolves each host **once per connection**, checks
every address that lookup returned, and connects to a checked address:
:class:`PinnedBackend` is the network layer under httpx. The request keeps
the host name, so the ``Host`` header, TLS SNI and certificate verification
are those of the name. Redirects and ``fetch_full`` links go through the
same connections, so they are pinned too. :func:`guard_request` (an httpx
request hook) refuses a bad URL early with the same message; it is the only
check when an HTTP proxy is configured (the proxy then resolves the names,
and protecting that path is the proxy's job).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from bot.ingest.errors import IngestError, shorten_url, url_too_long
from bot.limits import MAX_URL_CHARS

ENV_ALLOW = "ALLOW_PRIVATE_SOURCES"
_ALLOW_HINT = f"set {ENV_ALLOW}=1 to allow"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HEX = re.compile(r"0x[0-9a-f]*")
_OCTAL = re.compile(r"0[0-7]+")
_DECIMAL = re.compile(r"[1-9][0-9]*|0")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURLError(IngestError):
    """A URL the bot must not fetch; ``str()`` is one line starting with the URL."""


def private_sources_allowed() -> bool:
    """Whether ``ALLOW_PRIVATE_SOURCES`` is set to a true value (1, true, yes, on)."""
    return os.environ.get(ENV_ALLOW, "").strip().lower() in ("1", "true", "yes", "on")


def check_public_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise :class:`UnsafeURLError` unless ``url`` is http(s) to a public address.

    ``allow_private=None`` reads ``ALLOW_PRIVATE_SOURCES`` from the environment.
    Host names are resolved with :func:`socket.getaddrinfo` (this blocks; from
    async code use :func:`check_public_url_async`); every address they resolve
    to must be public, since the client may connect to any of them. A name
    that does not resolve is refused too.
    """
    host, port = _host_and_port(url)
    if allow_private is None:
        allow_private = private_sources_allowed()
    if allow_private:
        return
    literal = ip_literal(host)
    if literal is not None:
        reason = non_public_reason(literal)
        if reason:
            raise UnsafeURLError(
                f"refers to {_a(reason)} address ({_show(literal)}); {_ALLOW_HINT}", url
            )
        return
    for address in _resolve(url, host, port):
        reason = non_public_reason(address)
        if reason:
            raise UnsafeURLError(
                f"{host} resolves to {_a(reason)} address ({_show(address)}); {_ALLOW_HINT}", url
            )


async def check_public_url_async(url: str, *, allow_private: bool | None = None) -> None:
    """:func:`check_public_url` without blocking the event loop on DNS."""
    await asyncio.to_thread(check_public_url, url, allow_private=allow_private)


async def guard_request(request: httpx.Request) -> None:
    """An httpx ``request`` event hook: every request (redirects too) must pass
    :func:`check_public_url`; otherwise :class:`UnsafeURLError` is raised from
    ``client.send`` (``bot.ingest.poll`` reports it as the poll's error)."""
    await check_public_url_async(str(request.url))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer with the SSRF check at the only lookup that counts.

    ``connect_tcp`` resolves ``host`` once, refuses (:class:`UnsafeURLError`)
    unless every address it got is public, then connects to those addresses
    themselves, never to the name, so no second lookup can swap them. TLS
    is started on top by httpcore with ``server_hostname`` = the name.
    """

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await asyncio.wait_for(
            asyncio.to_thread(checked_addresses, host, port), timeout
        )
        error: Exception | None = None
        for address in addresses:
            try:
                return await _open_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # the next address, as a resolver-driven client would
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeURLError("Unix sockets are not fetched", path)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


_DIRECT = httpcore.AnyIOBackend()


async def _open_tcp(
    address: str,
    port: int,
    timeout: float | None,
    local_address: str | None,
    socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
) -> httpcore.AsyncNetworkStream:
    """The TCP connection itself, to an address already checked (tests route it)."""
    return await _DIRECT.connect_tcp(
        address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
    )


def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to (one lookup), all public, or :class:`UnsafeURLError`."""
    literal = ip_literal(host)
    addresses = [literal] if literal is not None else _resolve("", host, port)
    for address in addresses:
        reason = non_public_reason(address)
        if reason:
            said = "refers to" if literal is not None else f"{host} resolves to"
            raise UnsafeURLError(f"{said} {_a(reason)} address ({_show(address)}); {_ALLOW_HINT}")
    return addresses


def guarded_client(**kwargs: object) -> httpx.AsyncClient:
    """An httpx client whose direct connections go only to checked public addresses
    (:class:`PinnedBackend`), with :func:`guard_request` as its request hook."""
    transport = httpx.AsyncHTTPTransport()
    pool = getattr(transport, "_pool", None)
    # httpx has no public way to choose httpcore's network backend; fail loudly if it moves.
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version cannot pin connections (SSRF guard)")
    pool._network_backend = PinnedBackend()
    return httpx.AsyncClient(
        transport=transport,
        event_hooks={"request": [guard_request]},
        **kwargs,  # type: ignore[arg-type]
    )


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells directly, in any form a resolver would accept.

    Dotted quads, IPv6 (brackets and ``%zone`` stripped), and the ``inet_aton``
    forms: one to four parts, each decimal, octal (leading ``0``) or hex
    (``0x``), the last part filling the remaining bytes (``127.1``,
    ``2130706433``, ``0x7f000001``). None for a host name.
    """
    text = host.strip().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _c_integer(part)
        if value is None:
            return None
        values.append(value)
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address (``"private"``,
    ``"loopback"``…), or None when it is public. Addresses embedded in IPv6
    (IPv4-mapped, 6to4, NAT64) are judged by the IPv4 address they carry."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = non_public_reason(embedded)
            if reason or address.ipv4_mapped:
                return reason
        if address.is_site_local:
            return "private"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    )
    return next((reason for reason, hit in checks if hit), None)


def _host_and_port(url: str) -> tuple[str, int]:
    if len(url) > MAX_URL_CHARS:
        raise UnsafeURLError(url_too_long(url), shorten_url(url))
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port
    except ValueError as err:  # a bad port or an unclosed IPv6 bracket
        raise UnsafeURLError(f"not a valid URL: {err}", url) from None
    if scheme not in ("http", "https"):
        what = f"{scheme}:" if scheme else "no scheme"
        raise UnsafeURLError(f"only http:// and https:// URLs are allowed (got {what})", url)
    if not host:
        raise UnsafeURLError("has no host name", url)
    return host, port or (443 if scheme == "https" else 80)


def _resolve(url: str, host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as err:
        reason = getattr(err, "strerror", None) or str(err) or "not found"
        raise UnsafeURLError(f"cannot resolve {host}: {reason}", url) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        try:
            addresses.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        except ValueError:
            continue
    if not addresses:
        raise UnsafeURLError(f"cannot resolve {host}: no IP address", url)
    return addresses


def _c_integer(part: str) -> int | None:
    """A number as C's ``strtoul(…, 0)`` reads it: ``0x1f`` hex, ``017`` octal, else decimal."""
    text = part.lower()
    if _HEX.fullmatch(text):
        return int(text[2:] or "0", 16)
    if _OCTAL.fullmatch(text):
        return int(text, 8)
    if _DECIMAL.fullmatch(text):
        return int(text, 10)
    return None


def _show(address: IPAddress) -> str:
    """``::ffff:7f00:1`` is shown as ``::ffff:127.0.0.1``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word
