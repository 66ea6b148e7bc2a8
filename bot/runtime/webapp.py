"""The HTTP side of ``alertbot run``: the ingest endpoint and a health check.

``POST /ingest`` takes one JSON article or a list of them (``title``,
``text`` or ``content``, and optionally ``url``, ``source``, ``published``)
from systems that push, with ``Authorization: Bearer <INGEST_TOKEN>``. Each
article goes through the same pipeline as a polled one. The chat faces that
need HTTP (Slack in HTTP mode) add their routes to the same application.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from aiohttp import web

from bot.limits import MAX_INGEST_ARTICLES, MAX_INGEST_BODY
from bot.models import Article
from bot.runtime.service import Service

log = logging.getLogger("alertbot")

SERVICE_KEY: web.AppKey[Service] = web.AppKey("service", Service)


class BadArticle(ValueError):
    pass


def parse_articles(payload: Any) -> list[Article]:
    """Articles from a JSON value; one line of error naming the bad item."""
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise BadArticle("no articles in the body")
    if len(items) > MAX_INGEST_ARTICLES:
        raise BadArticle(f"at most {MAX_INGEST_ARTICLES} articles per request")
    return [_article(item, i) for i, item in enumerate(items)]


def _article(item: Any, index: int) -> Article:
    where = f"item {index}"
    if not isinstance(item, dict):
        raise BadArticle(f"{where}: expected a JSON object")
    title = item.get("title")
    text = item.get("text", item.get("content"))
    if (
        not isinstance(title, str)
        or not isinstance(text, str)
        or not (title.strip() or text.strip())
    ):
        raise BadArticle(f'{where}: needs "title" and "text" (or "content") as strings')
    fields = {k: item.get(k, "") for k in ("url", "source", "published")}
    for key, value in fields.items():
        if not isinstance(value, str):
            raise BadArticle(f"{where}: {key!r} must be a string")
    return Article(title=title, text=text, **fields)


def _authorised(request: web.Request, token: str | None) -> bool:
    """The bearer token, compared as bytes: ``compare_digest`` refuses non-ASCII ``str``."""
    if not token:
        return False
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    given_bytes = given.strip().encode("utf-8", "surrogatepass")
    return scheme.lower() == "bearer" and hmac.compare_digest(given_bytes, token.encode("utf-8"))


async def _read_body(request: web.Request, cap: int) -> bytes | None:
    """The whole body, or None once it passes ``cap`` bytes.

    ``StreamReader.read(n)`` returns what has arrived so far (often 64 KiB to
    1 MiB), not ``n`` bytes: the body is read to its end, chunk by chunk.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


async def ingest_handler(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    secret = service.settings.ingest_token
    if secret is None:
        return _error(503, "ingest is disabled: set INGEST_TOKEN")
    if not _authorised(request, secret.get_secret_value()):
        return _error(401, "missing or wrong bearer token")
    too_big = f"body over the limit of {MAX_INGEST_BODY:,} bytes: send fewer articles per request"
    if request.content_length is not None and request.content_length > MAX_INGEST_BODY:
        return _error(413, too_big)
    body = await _read_body(request, MAX_INGEST_BODY)
    if body is None:
        return _error(413, too_big)
    try:
        articles = parse_articles(json.loads(body))
    except json.JSONDecodeError as err:
        return _error(400, f"not JSON: {err.msg} at line {err.lineno} column {err.colno}")
    except UnicodeDecodeError:
        return _error(400, "not JSON: the body is not UTF-8 text")
    except BadArticle as err:
        return _error(400, str(err))
    report = await service.ingest_articles(articles, source_name="ingest")
    return web.json_response(
        {"ok": True, "received": len(articles), "stored": report.stored, "alerts": report.alerts}
    )


async def health_handler(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    ok = await asyncio.to_thread(service.database_ok)
    return web.json_response({"ok": ok}, status=200 if ok else 503)


def make_web_app(service: Service) -> web.Application:
    app = web.Application(client_max_size=MAX_INGEST_BODY + 1024)
    app[SERVICE_KEY] = service
    app.router.add_post("/ingest", ingest_handler)
    app.router.add_get("/healthz", health_handler)
    return app


async def start_web(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("HTTP on http://%s:%d (POST /ingest, GET /healthz)", host, port)
    return runner
