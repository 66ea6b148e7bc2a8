"""HTTP fetching for feeds and pages: conditional GET, size cap, redirect cap, one-line errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.ingest.errors import IngestError, one_line, shorten_url, url_too_long
from bot.limits import MAX_URL_CHARS

if TYPE_CHECKING:
    import httpx

USER_AGENT = "alertbot/0.1 (+https://github.com/alertbot)"
CONNECT_TIMEOUT = 10.0


class FetchError(IngestError):
    """A URL could not be fetched (network, HTTP status, limits); ``str()`` names the URL."""


@dataclass
class FetchResult:
    """One completed GET. ``headers`` has lower-case names; ``body`` is decoded (gzip etc.)."""

    url: str
    final_url: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None

    @property
    def content_type(self) -> str:
        """The media type without parameters, e.g. ``application/rss+xml``."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter of ``Content-Type``, when the server sent one."""
        msg = Message()
        msg["content-type"] = self.headers.get("content-type", "")
        value = msg.get_param("charset")
        return value if isinstance(value, str) and value else None


async def fetch(
    url: str,
    *,
    client: httpx.AsyncClient | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 5_000_000,
    timeout: float = 15.0,
    max_redirects: int = 5,
) -> FetchResult:
    """GET ``url``. Raises :class:`FetchError` for anything but a usable response.

    ``timeout`` bounds the whole exchange (connect, redirects, body), not just
    each read, so a server that trickles bytes cannot hold a poller forever.
    Redirects are followed here rather than by httpx so that ``max_redirects``
    applies per call even on a shared ``client``, and loops are named as such.
    304 Not Modified (after ``etag``/``last_modified``) gives ``not_modified=True``.
    """
    import asyncio  # httpx and asyncio load on the first fetch: a scan of files needs neither

    import httpx

    _check_url(url)
    opts = _Options(url, etag, last_modified, max_bytes, timeout, max_redirects)
    try:
        async with asyncio.timeout(timeout):
            if client is not None:
                return await _fetch(client, opts)
            async with _client(timeout) as own:
                return await _fetch(own, opts)
    except TimeoutError as exc:
        raise FetchError(f"timed out after {timeout:g}s", url) from exc
    except httpx.HTTPError as exc:
        raise FetchError(_describe(exc, timeout), url) from exc
    except IngestError as exc:  # the SSRF guard refusing an address at connect time
        raise exc.naming(url) from None
    except httpx.InvalidURL as exc:  # not an HTTPError: raised while building the request
        raise FetchError(f"invalid URL: {_reason(exc)}", shorten_url(url)) from exc


def fetch_sync(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 5_000_000,
    timeout: float = 15.0,
    max_redirects: int = 5,
) -> FetchResult:
    """:func:`fetch` for synchronous callers (the CLI); not for use inside a running loop."""
    import asyncio

    return asyncio.run(
        fetch(
            url,
            etag=etag,
            last_modified=last_modified,
            max_bytes=max_bytes,
            timeout=timeout,
            max_redirects=max_redirects,
        )
    )


def _client(timeout: float) -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


@dataclass(frozen=True)
class _Options:
    url: str
    etag: str | None
    last_modified: str | None
    max_bytes: int
    timeout: float
    max_redirects: int


async def _fetch(client: httpx.AsyncClient, opts: _Options) -> FetchResult:
    import httpx

    request = client.build_request(
        "GET",
        opts.url,
        headers=_request_headers(client, opts),
        timeout=httpx.Timeout(opts.timeout, connect=min(opts.timeout, CONNECT_TIMEOUT)),
    )
    visited: list[str] = []
    for _ in range(opts.max_redirects + 1):
        visited.append(str(request.url))
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            if response.next_request is None:
                return await _complete(response, opts)
        finally:
            await response.aclose()
        request = response.next_request
    # Not at the first repeat: redirecting back to the same URL after setting a
    # cookie is a legitimate pattern (consent walls), so only the cap decides.
    if str(request.url) in visited:
        where = f"back to {request.url} after {opts.max_redirects} redirects"
        raise FetchError(f"redirect loop ({where})", opts.url)
    raise FetchError(f"too many redirects (more than {opts.max_redirects})", opts.url)


def _request_headers(client: httpx.AsyncClient, opts: _Options) -> dict[str, str]:
    headers = {"Accept": "application/rss+xml, application/atom+xml, text/html;q=0.9, */*;q=0.8"}
    if client.headers.get("user-agent", "").startswith("python-httpx"):
        headers["User-Agent"] = USER_AGENT  # a caller's client may carry its own agent
    if opts.etag:
        headers["If-None-Match"] = opts.etag
    if opts.last_modified:
        headers["If-Modified-Since"] = opts.last_modified
    return headers


async def _complete(response: httpx.Response, opts: _Options) -> FetchResult:
    """Turn the final response into a result, reading at most ``max_bytes`` of body."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    result = FetchResult(
        url=opts.url,
        final_url=str(response.url),
        status=response.status_code,
        headers=headers,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
    )
    if response.status_code == 304:
        # Unchanged: the validators we sent still hold when the server omits them.
        result.not_modified = True
        result.etag = result.etag or opts.etag
        result.last_modified = result.last_modified or opts.last_modified
        return result
    if response.status_code >= 400:
        via = f" (at {response.url})" if str(response.url) != opts.url else ""
        status = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        raise FetchError(status + via, opts.url)
    result.body = await _read_capped(response, opts)
    return result


async def _read_capped(response: httpx.Response, opts: _Options) -> bytes:
    """The decoded body, aborting as soon as it grows past ``max_bytes``."""
    url, max_bytes = opts.url, opts.max_bytes
    limit = f"the {max_bytes:,}-byte limit"
    declared = response.headers.get("content-length", "")
    encoded = "content-encoding" in response.headers  # then the length is not the real size
    if declared.isdigit() and int(declared) > max_bytes and not encoded:
        raise FetchError(f"response of {int(declared):,} bytes exceeds {limit}", url)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"response body exceeds {limit}", url)
        chunks.append(chunk)
    return b"".join(chunks)


def _check_url(url: str) -> None:
    if len(url) > MAX_URL_CHARS:
        raise FetchError(url_too_long(url), shorten_url(url))
    try:
        parts = urlsplit(url)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        usable = False
    if not usable:
        raise FetchError("invalid URL (expected http:// or https:// and a host name)", url)


def _describe(exc: httpx.HTTPError, timeout: float) -> str:
    """One line a user understands for an httpx failure."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return f"connection timed out after {min(timeout, CONNECT_TIMEOUT):g}s"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g}s"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_reason(exc) or 'connection failed'}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL: {_reason(exc)}"
    if isinstance(exc, httpx.DecodingError):
        return f"cannot decode the response body: {_reason(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"bad HTTP response: {_reason(exc)}"
    return f"request failed: {_reason(exc) or type(exc).__name__}"


def _reason(exc: BaseException) -> str:
    """The innermost meaningful message (httpx wraps OS errors like "Connection refused")."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        inner = exc.__cause__ or exc.__context__
        assert inner is not None
        if not str(inner):
            break
        exc = inner
    if isinstance(exc, OSError) and exc.strerror:
        return one_line(exc.strerror)
    return one_line(str(exc))
