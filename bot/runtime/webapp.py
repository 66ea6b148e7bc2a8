"""The HTTP side of ``alertbot run``: ingest, health, metrics, and the chat webhooks.

``POST /ingest`` takes one JSON article or a list of them (``title``,
``text`` or ``content``, and optionally ``url``, ``source``, ``published``)
from systems that push, with ``Authorization: Bearer <INGEST_TOKEN>``. Each
article goes through the same pipeline as a polled one. The chat faces that
need HTTP (Slack in HTTP mode, Telegram in webhook mode) add their routes to
the same application.

``GET /healthz`` is for a load balancer or Docker's ``HEALTHCHECK``: 200 when
the database answers and the scheduler runs, else 503, with a JSON body that
says which, and when any replica last polled a source successfully (read
from the database, so every replica gives the same answer). ``GET /metrics``
is this process's Prometheus metrics (:mod:`bot.metrics`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING, STATE_STOPPED

from bot import metrics
from bot.limits import MAX_INGEST_ARTICLES, MAX_INGEST_BODY
from bot.logs import bind
from bot.models import Article
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.health import last_poll_success

log = logging.getLogger("alertbot")

SERVICE_KEY: web.AppKey[Service] = web.AppKey("service", Service)
# the scheduler of ``alertbot run`` (an APScheduler scheduler: its ``state`` is read)
SCHEDULER_KEY: web.AppKey[Any] = web.AppKey("scheduler", object)
_SCHEDULER_STATES = {STATE_RUNNING: "running", STATE_PAUSED: "paused", STATE_STOPPED: "stopped"}


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


async def read_body(request: web.Request, cap: int) -> bytes | None:
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
    body = await read_body(request, MAX_INGEST_BODY)
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
    bind(source="ingest")
    report = await service.ingest_articles(articles, source_name="ingest")
    return web.json_response(
        {"ok": True, "received": len(articles), "stored": report.stored, "alerts": report.alerts}
    )


@dataclass
class Health:
    database: bool
    last_poll: datetime | None
    scheduler: str | None  # "running", "paused" (stopping), "stopped"; None: no scheduler

    @property
    def ok(self) -> bool:
        return self.database and self.scheduler in (None, "running")

    def as_json(self, worker: str) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "database": "ok" if self.database else "unreachable",
            "scheduler": self.scheduler,
            "last_successful_poll": self.last_poll.isoformat() if self.last_poll else None,
            "worker": worker,
        }


def _database_health(service: Service) -> tuple[bool, datetime | None]:
    try:
        with session_scope(service.factory) as session:
            return True, last_poll_success(session)
    except Exception as exc:  # any driver error: the database is not usable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        log.error("health: the database does not answer: %s: %s", type(exc).__name__, first)
        return False, None


async def health_handler(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    database, last_poll = await asyncio.to_thread(_database_health, service)
    scheduler = request.app.get(SCHEDULER_KEY)
    state = None if scheduler is None else _SCHEDULER_STATES.get(scheduler.state, "stopped")
    health = Health(database, last_poll, state)
    return web.json_response(health.as_json(service.worker), status=200 if health.ok else 503)


async def metrics_handler(request: web.Request) -> web.Response:
    body, content_type = metrics.exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type  # with its version and charset
    return response


def make_web_app(service: Service) -> web.Application:
    app = web.Application(client_max_size=MAX_INGEST_BODY + 1024)
    app[SERVICE_KEY] = service
    app.router.add_post("/ingest", ingest_handler)
    app.router.add_get("/healthz", health_handler)
    app.router.add_get("/metrics", metrics_handler)
    return app


async def start_web(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("HTTP on http://%s:%d (POST /ingest, GET /healthz, GET /metrics)", host, port)
    return runner
