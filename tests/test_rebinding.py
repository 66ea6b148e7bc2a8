"""DNS rebinding (issue 12, item 11): a name that resolves to a public address for the
check and to 127.0.0.1 a moment later must not get a connection to the loopback server,
for ``test <wl> <URL>``, ``addsource`` (then its polls) and ``fetch_full`` links alike.

The "internet" is simulated: ``socket.getaddrinfo`` is faked (as tests/test_commands.py
does), and the TCP layer under httpcore (``anyio.connect_tcp``) is wrapped so that the
public address 93.184.215.14 is served by a local "public" server, while 127.0.0.1 is the
loopback server an attacker is after. The wrapper resolves a name once itself, as anyio
would, so the code under test gets no help from it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from loopback import RoutedHandler, serve
from test_commands_support import ADMIN, say, service

from bot.ingest.poll import HostLimiter, SourceState, poll
from bot.runtime.service import Service

__all__ = ["service"]  # fixture

PUBLIC_IP = "93.184.215.14"
PAGE = (
    b"<html><head><title>Wagner convoy spotted</title></head><body><article><p>"
    + b"A convoy of Wagner mercenaries was seen on the highway near the border. " * 8
    + b"</p></article></body></html>"
)


def feed(link: str) -> bytes:
    return (
        "<rss version='2.0'><channel><title>Wire</title><item><title>Convoy</title>"
        f"<link>{link}</link><description>teaser</description></item></channel></rss>"
    ).encode()


class Site(RoutedHandler):
    """Serves a page and a feed; records every request (the path and the Host header)."""

    requests: list[tuple[str, str]]
    feed_link = ""

    def do_GET(self) -> None:
        self.requests.append((self.path, self.headers.get("Host", "")))
        super().do_GET()

    def route_page(self) -> None:
        self._send(200, PAGE)

    def route_feed(self) -> None:
        self._send(200, feed(self.feed_link), "application/rss+xml")


@dataclass
class Net:
    """The simulated network: the two servers, the DNS answers, the connections made."""

    public_port: int
    local_port: int
    public: list[tuple[str, str]]
    local: list[tuple[str, str]]
    public_lookups: int  # lookups of rebind.test answered with the public address
    lookups: int = 0
    connected: list[tuple[str, int]] = field(default_factory=list)

    def resolve(self, host: str) -> str:
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            pass
        if host == "public.test":
            return PUBLIC_IP
        if host == "rebind.test":  # TTL 0: public for the first lookups, then loopback
            self.lookups += 1
            return PUBLIC_IP if self.lookups <= self.public_lookups else "127.0.0.1"
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def _site(name: str) -> type[Site]:
    return type(name, (Site,), {"requests": []})


@pytest.fixture(params=[1, 2, 3], ids=lambda k: f"public-for-{k}")
def net(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Net]:
    public_site, local_site = _site("PublicSite"), _site("LocalSite")
    with serve(public_site) as public_url, serve(local_site) as local_url:
        the_net = Net(
            public_port=int(public_url.rsplit(":", 1)[1]),
            local_port=int(local_url.rsplit(":", 1)[1]),
            public=public_site.requests,
            local=local_site.requests,
            public_lookups=request.param,
        )

        def fake_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
            address = the_net.resolve(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]

        real_connect = anyio.connect_tcp

        async def routed_connect(remote_host: str, remote_port: int, **kwargs: Any) -> Any:
            address = the_net.resolve(str(remote_host))  # one lookup, as anyio would make
            the_net.connected.append((address, remote_port))
            if address == PUBLIC_IP:
                return await real_connect("127.0.0.1", the_net.public_port, **kwargs)
            return await real_connect(address, remote_port, **kwargs)

        monkeypatch.setattr("bot.ingest.safety.socket.getaddrinfo", fake_getaddrinfo)
        monkeypatch.setattr("anyio.connect_tcp", routed_connect)
        for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.delenv(variable, raising=False)
        yield the_net


def assert_loopback_untouched(net: Net) -> None:
    assert net.local == [], "a request reached the loopback server"
    assert ("127.0.0.1", net.local_port) not in net.connected


async def test_test_command_never_connects_to_the_rebound_address(
    net: Net, service: Service
) -> None:
    url = f"http://rebind.test:{net.local_port}/page"
    reply = await say(service, ADMIN, f"/test demo {url}")
    assert_loopback_untouched(net)
    if reply.error:
        assert "\n" not in reply.plain_text
        assert "resolves to a loopback address (127.0.0.1)" in reply.plain_text
    else:  # the lookups that counted said public: the public server answered, by name
        assert net.public == [("/page", f"rebind.test:{net.local_port}")]


async def test_addsource_polls_never_connect_to_the_rebound_address(
    net: Net, service: Service
) -> None:
    url = f"http://rebind.test:{net.local_port}/feed"
    added = await say(service, ADMIN, f"/addsource {url} rebinder")
    if added.error:
        assert "loopback address" in added.plain_text
        return
    shown = (await say(service, ADMIN, "/sources")).plain_text
    ident = int(shown.split("rebinder")[0].rsplit("#", 1)[1].strip())
    report = await service.poll_source(ident)
    assert report.polled
    assert_loopback_untouched(net)
    if report.error:
        assert "resolves to a loopback address (127.0.0.1)" in report.error
        assert report.error.startswith(url)


async def test_fetch_full_links_never_connect_to_the_rebound_address(
    net: Net, service: Service
) -> None:
    Site.feed_link = f"http://rebind.test:{net.local_port}/page"
    outcome = await poll(
        SourceState(kind="feed", url=f"http://public.test:{net.public_port}/feed", fetch_full=True),
        client=service.client,
        limiter=HostLimiter(),
    )
    assert outcome.error is None, outcome.error
    assert ("/feed", f"public.test:{net.public_port}") in net.public
    assert_loopback_untouched(net)
    (article,) = outcome.articles
    if outcome.problem:
        assert "resolves to a loopback address (127.0.0.1)" in outcome.problem
        assert article.text == "teaser"
    else:
        assert "Wagner mercenaries" in article.text


async def test_the_host_name_stays_on_the_request(net: Net, service: Service) -> None:
    """Pinned to an address, the request still names the host (virtual hosting, TLS SNI)."""
    response = await service.client.get(f"http://public.test:{net.public_port}/page")
    assert response.status_code == 200
    assert net.public[-1] == ("/page", f"public.test:{net.public_port}")
    assert net.connected[-1] == (PUBLIC_IP, net.public_port)
