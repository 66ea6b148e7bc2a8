"""The SSRF guard: every test mocks DNS (socket.getaddrinfo); nothing touches the network."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest

from bot.ingest import IngestError
from bot.ingest.poll import HostLimiter, SourceState, poll
from bot.ingest.safety import (
    UnsafeURLError,
    check_public_url,
    check_public_url_async,
    guard_request,
    ip_literal,
)

HINT = "set ALLOW_PRIVATE_SOURCES=1 to allow"
DNS: dict[str, list[str]] = {
    "news.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "intranet.example": ["10.1.2.3"],
    "mixed.example": ["93.184.216.34", "192.168.1.20"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "scoped.example": ["fe80::1%eth0"],
}
LOOKUPS: list[str] = []


def fake_getaddrinfo(
    host: str, port: object, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[tuple[int, int, int, str, tuple[str, int]]]:
    LOOKUPS.append(host)
    if host not in DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    port_number = int(port) if isinstance(port, int | str) else 0
    return [
        (socket.AF_INET6 if ":" in a else socket.AF_INET, type, 6, "", (a, port_number))
        for a in DNS[host]
    ]


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    LOOKUPS.clear()
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.delenv("ALLOW_PRIVATE_SOURCES", raising=False)


def refusal(url: str) -> str:
    with pytest.raises(UnsafeURLError) as info:
        check_public_url(url)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{url}: ")
    return message


def test_the_documented_message() -> None:
    assert refusal("http://10.0.0.5/feed") == (
        f"http://10.0.0.5/feed: refers to a private address (10.0.0.5); {HINT}"
    )


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("http://127.0.0.1/", "a loopback address (127.0.0.1)"),
        ("http://127.0.0.1:6379/", "a loopback address (127.0.0.1)"),
        ("http://2130706433/", "a loopback address (127.0.0.1)"),  # decimal
        ("http://0x7f000001/", "a loopback address (127.0.0.1)"),  # hex
        ("http://0x7f.1/", "a loopback address (127.0.0.1)"),
        ("http://0177.0.0.1/", "a loopback address (127.0.0.1)"),  # octal
        ("http://127.1/", "a loopback address (127.0.0.1)"),
        ("http://017700000001/", "a loopback address (127.0.0.1)"),
        ("http://[::1]/", "a loopback address (::1)"),
        ("http://[::ffff:127.0.0.1]/", "a loopback address (::ffff:127.0.0.1)"),
        ("http://[::ffff:a9fe:a9fe]/latest/", "a link-local address (::ffff:169.254.169.254)"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address (169.254.169.254)"),
        ("http://[fe80::1%25eth0]/", "a link-local address (fe80::1)"),
        ("https://192.168.0.1/", "a private address (192.168.0.1)"),
        ("http://172.16.5.4/", "a private address (172.16.5.4)"),
        ("http://[fc00::1]/", "a private address (fc00::1)"),
        (
            "http://[2002:c0a8:101::1]/",
            "a private address (2002:c0a8:101::1)",
        ),  # 6to4 of 192.168.1.1
        ("http://[64:ff9b::a00:1]/", "a private address (64:ff9b::a00:1)"),  # NAT64 of 10.0.0.1
        ("http://224.0.0.1/", "a multicast address (224.0.0.1)"),
        ("http://[ff02::1]/", "a multicast address (ff02::1)"),
        ("http://0.0.0.0/", "an unspecified address (0.0.0.0)"),
        ("http://0/", "an unspecified address (0.0.0.0)"),
        ("http://[::]/", "an unspecified address (::)"),
        ("http://240.0.0.1/", "a reserved address (240.0.0.1)"),
        ("http://100.64.0.1/", "a non-public address (100.64.0.1)"),
        ("http://127.0.0.1./", "a loopback address (127.0.0.1)"),  # trailing dot
    ],
)
def test_ip_literals_that_are_not_public(url: str, what: str) -> None:
    assert refusal(url) == f"{url}: refers to {what}; {HINT}"
    assert LOOKUPS == []  # decided without DNS


@pytest.mark.parametrize(
    "url",
    ["http://93.184.216.34/feed", "https://[2606:4700:4700::1111]/", "http://1.1.1.1:8080/x"],
)
def test_public_ip_literals_pass(url: str) -> None:
    check_public_url(url)
    assert LOOKUPS == []


def test_public_host_name_passes() -> None:
    check_public_url("https://news.example/rss.xml")
    assert LOOKUPS == ["news.example"]


@pytest.mark.parametrize(
    ("host", "what"),
    [
        ("intranet.example", "a private address (10.1.2.3)"),
        ("mixed.example", "a private address (192.168.1.20)"),  # every address must be public
        ("mapped.example", "a loopback address (::ffff:127.0.0.1)"),
        ("scoped.example", "a link-local address (fe80::1)"),
    ],
)
def test_host_names_resolving_to_non_public_addresses(host: str, what: str) -> None:
    url = f"http://{host}/feed"
    assert refusal(url) == f"{url}: {host} resolves to {what}; {HINT}"


def test_unresolvable_host() -> None:
    assert refusal("http://nowhere.example/") == (
        "http://nowhere.example/: cannot resolve nowhere.example: Name or service not known"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://news.example/feed", "only http:// and https:// URLs are allowed (got ftp:)"),
        ("file:///etc/passwd", "only http:// and https:// URLs are allowed (got file:)"),
        ("gopher://127.0.0.1:6379/_", "only http:// and https:// URLs are allowed (got gopher:)"),
        ("news.example/feed", "only http:// and https:// URLs are allowed (got no scheme)"),
        ("http:///feed", "has no host name"),
        ("http://news.example:99999/", "not a valid URL: Port out of range 0-65535"),
    ],
)
def test_bad_urls(url: str, reason: str) -> None:
    assert refusal(url) == f"{url}: {reason}"


def test_allow_private_argument_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    check_public_url("http://10.0.0.5/feed", allow_private=True)
    check_public_url("http://intranet.example/", allow_private=True)
    assert LOOKUPS == []  # no need to resolve
    with pytest.raises(UnsafeURLError, match="only http"):
        check_public_url("file:///etc/passwd", allow_private=True)  # the scheme still matters

    monkeypatch.setenv("ALLOW_PRIVATE_SOURCES", "1")
    check_public_url("http://10.0.0.5/feed")
    with pytest.raises(UnsafeURLError):
        check_public_url("http://10.0.0.5/feed", allow_private=False)  # the argument wins
    monkeypatch.setenv("ALLOW_PRIVATE_SOURCES", "0")
    with pytest.raises(UnsafeURLError):
        check_public_url("http://10.0.0.5/feed")


def test_unsafe_url_error_is_an_ingest_error() -> None:
    with pytest.raises(IngestError):
        check_public_url("http://10.0.0.5/")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0xC0.0xA8.1.1", "192.168.1.1"),
        ("192.168.257", "192.168.1.1"),
        ("10.1", "10.0.0.1"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("08.1.1.1", None),  # not octal: a name, left to DNS
        ("4294967296", None),
        ("٣", None),  # non-ASCII digits are not an address
    ],
)
def test_ip_literal(host: str, address: str | None) -> None:
    found = ip_literal(host)
    assert (str(found) if found else None) == address


async def test_async_check() -> None:
    await check_public_url_async("https://news.example/")
    with pytest.raises(UnsafeURLError, match="private address"):
        await check_public_url_async("http://intranet.example/")


# --- the request hook: redirects (and fetch_full links) are checked too ---------


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.MockTransport(handler), event_hooks={"request": [guard_request]}
    )


FEED = b"<rss version='2.0'><channel><title>T</title><item><title>A</title><link>https://news.example/a</link><description>x</description></item></channel></rss>"


async def test_hook_allows_public_and_refuses_a_redirect_to_a_private_address() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/moved":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"})
        return httpx.Response(200, content=FEED, headers={"Content-Type": "application/rss+xml"})

    async with mock_client(handler) as client:
        ok = await poll(
            SourceState(kind="feed", url="https://news.example/rss"),
            client=client,
            limiter=HostLimiter(),
        )
        assert ok.error is None and len(ok.articles) == 1
        moved = await poll(
            SourceState(kind="feed", url="https://news.example/moved"),
            client=client,
            limiter=HostLimiter(),
        )
    assert moved.error == (
        f"http://169.254.169.254/latest/: refers to a link-local address (169.254.169.254); {HINT}"
    )


async def test_hook_keeps_teasers_for_private_full_text_links() -> None:
    feed = FEED.replace(b"https://news.example/a", b"http://10.0.0.7/admin")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=feed, headers={"Content-Type": "application/rss+xml"})

    async with mock_client(handler) as client:
        outcome = await poll(
            SourceState(kind="feed", url="https://news.example/rss", fetch_full=True),
            client=client,
            limiter=HostLimiter(),
        )
    assert outcome.error is None
    assert [a.text for a in outcome.articles] == ["x"]
    assert (
        outcome.problem is not None and "refers to a private address (10.0.0.7)" in outcome.problem
    )
