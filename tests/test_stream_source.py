"""The redis-stream source against the real Redis (127.0.0.1:6379; a stream name per test):
a consumer that dies between read and ack loses nothing and doubles nothing; a malformed
entry is warned about once and acknowledged; Redis away is one line per poll."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from bot.config import Settings
from bot.ingest.sources import SourceError, load_sources_text
from bot.ingest.stream import StreamConsumer
from bot.runtime.service import Service
from bot.store import ArticleRow, session_scope

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:  # Redis must run where the tests run (CI has it)
        await client.aclose()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {REDIS_URL} unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable: {exc}")
    yield client
    await client.aclose()


@pytest.fixture
def stream_name() -> str:
    return f"alertbot-test:{uuid.uuid4().hex}"


@pytest.fixture
async def service(tmp_path: Path, stream_name: str, redis: aioredis.Redis) -> AsyncIterator[Service]:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: firehose\n    kind: redis-stream\n"
        f"    url: {REDIS_URL}\n    stream: {stream_name}\n    group: alertbot\n",
        encoding="utf-8",
    )
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        sources=sources,
        watchlist_dir=ROOT / "watchlists",
        stream_claim_idle_s=0,  # a pending entry is anyone's at once (no waiting in tests)
    )
    svc = Service(settings, worker="replica-b")
    svc.load_watchlists()
    svc.sync_sources()
    yield svc
    await svc.close()
    await redis.delete(stream_name)


def entry(n: int) -> dict[str, str]:
    article = {"title": f"Report {n}", "text": f"Text of report {n}.", "url": f"http://w.test/{n}"}
    return {"data": json.dumps(article)}


def stored_urls(service: Service) -> list[str]:
    with session_scope(service.factory) as s:
        return sorted(s.scalars(select(ArticleRow.url)).all())


async def test_a_consumer_dying_between_read_and_ack_loses_and_doubles_nothing(
    service: Service, redis: aioredis.Redis, stream_name: str
) -> None:
    (spec,) = service.streams
    first = service.stream_consumer(spec)
    await first.poll(block=False)  # creates the group (MKSTREAM): nothing to read yet
    for n in range(5):
        await redis.xadd(stream_name, entry(n))
    # replica A reads all five, stores the first two, and dies before acknowledging
    read = await redis.xreadgroup("alertbot", "replica-a", {stream_name: ">"}, count=10)
    assert len(read[0][1]) == 5
    from bot.ingest.jsonfile import article_from_object

    done = [article_from_object(json.loads(f[b"data"]), "e") for _, f in read[0][1][:2]]
    await service.ingest_articles(done, "firehose")
    assert (await redis.xpending(stream_name, "alertbot"))["pending"] == 5

    report = await first.poll(block=False)  # replica B: takes A's pending entries over
    assert report.reclaimed == 5 and report.stored == 5 and report.error is None
    assert stored_urls(service) == [f"http://w.test/{n}" for n in range(5)]  # each once
    assert (await redis.xpending(stream_name, "alertbot"))["pending"] == 0

    await redis.xadd(stream_name, entry(5))
    again = await first.poll(block=False)
    assert (again.reclaimed, again.stored) == (0, 1)
    with session_scope(service.factory) as s:
        assert s.scalar(select(func.count()).select_from(ArticleRow)) == 6
    await first.close()


async def test_own_pending_entries_are_read_again_after_a_restart(
    service: Service, redis: aioredis.Redis, stream_name: str
) -> None:
    """Same consumer name (WORKER_ID) after a crash: its unacknowledged entries first."""
    (spec,) = service.streams
    await redis.xgroup_create(stream_name, "alertbot", id="0", mkstream=True)
    await redis.xadd(stream_name, entry(1))
    await redis.xreadgroup("alertbot", "replica-b", {stream_name: ">"}, count=10)  # then died
    consumer = StreamConsumer(spec, "replica-b", service.stream_consumer(spec).store)
    consumer.claim_idle_ms = 3_600_000  # nobody else's entries: only its own are at stake
    report = await consumer.poll(block=False)
    assert report.stored == 1 and stored_urls(service) == ["http://w.test/1"]
    assert (await redis.xpending(stream_name, "alertbot"))["pending"] == 0
    await consumer.close()


async def test_a_malformed_entry_is_warned_once_and_acknowledged(
    service: Service, redis: aioredis.Redis, stream_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    (spec,) = service.streams
    consumer = service.stream_consumer(spec)
    await consumer.poll(block=False)
    await redis.xadd(stream_name, {"data": "{not json"})
    await redis.xadd(stream_name, {"data": json.dumps({"title": "No text here"})})
    await redis.xadd(stream_name, entry(7))
    with caplog.at_level(logging.WARNING, logger="alertbot"):
        report = await consumer.poll(block=False)
        again = await consumer.poll(block=False)
    assert (report.malformed, report.stored) == (2, 1)
    assert (again.read, again.malformed) == (0, 0)  # acknowledged: they do not come back
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "not JSON" in warnings[0].getMessage()
    assert "is not an article" in warnings[1].getMessage()
    assert all(r.exc_info is None for r in warnings)
    assert stored_urls(service) == ["http://w.test/7"]
    assert (await redis.xpending(stream_name, "alertbot"))["pending"] == 0
    await consumer.close()


async def test_redis_unreachable_is_one_line_per_poll(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    (spec,) = service.streams
    from dataclasses import replace

    down = replace(spec, url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    consumer = service.stream_consumer(down)
    with caplog.at_level(logging.WARNING):
        first = await consumer.poll(block=False)
        second = await consumer.poll(block=False)
    assert first.error and second.error
    lines = [r for r in caplog.records if r.name == "alertbot"]
    assert len(lines) == 2
    assert all("unavailable" in r.getMessage() and r.exc_info is None for r in lines)
    assert all("\n" not in r.getMessage() for r in lines)
    await consumer.close()


def test_sources_yaml_declares_a_stream() -> None:
    (spec,) = load_sources_text(
        "sources:\n  - name: s\n    kind: redis-stream\n    url: redis://h:6379/0\n"
        "    stream: articles\n    group: bot\n"
    )
    assert (spec.kind, spec.stream, spec.group, spec.consumer) == (
        "redis-stream",
        "articles",
        "bot",
        None,
    )
    bad = {
        "url: http://h/\n    stream: a\n    group: g": "is not a redis:// or rediss:// URL",
        "url: redis://h\n    group: g": "needs a 'stream'",
        "url: redis://h\n    stream: a": "needs a 'group'",
    }
    for body, message in bad.items():
        with pytest.raises(SourceError, match=message):
            load_sources_text(f"sources:\n  - name: s\n    kind: redis-stream\n    {body}\n")
    with pytest.raises(SourceError, match="applies to kind: redis-stream"):
        load_sources_text("sources:\n  - name: s\n    url: http://h/feed.xml\n    stream: a\n")
