"""A Redis Streams source: one consumer per replica in a consumer group.

Entries are read with ``XREADGROUP`` in batches and acknowledged (``XACK``)
only once the article is stored — the caller's ``store`` says how many of a
batch it stored, one article per transaction as for any source. An entry
read by a consumer that died before acknowledging it stays pending in the
group; after ``claim_idle_s`` without activity another consumer takes it
over with ``XAUTOCLAIM`` and processes it (the store keeps an article once,
so an entry stored before the crash and processed again is not doubled).
After a restart under the same consumer name the consumer first re-reads
its own pending entries (``XREADGROUP … 0``).

An entry is one article: a field ``data`` (or ``article``, ``json``) holding
a JSON object in the shape of ``POST /ingest`` (``title``, ``text``, ``url``,
``source``, ``published``), or the article's fields themselves
(``XADD s * title … text …``). An entry that is not JSON or not an article
is logged once (a WARNING naming the entry) and acknowledged, so it never
comes back. Redis unreachable: one WARNING line per poll, no traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bot.ingest.errors import IngestError, one_line
from bot.ingest.jsonfile import article_from_object
from bot.ingest.sources import SourceSpec
from bot.models import Article

log = logging.getLogger("alertbot")

PAYLOAD_FIELDS = ("data", "article", "json")
DEFAULT_BATCH = 100
DEFAULT_BLOCK_MS = 2_000
DEFAULT_CLAIM_IDLE_S = 60.0

# Stores articles in order, one transaction each; returns how many it stored (a prefix
# of the list: fewer when the job is stopping). Those entries are acknowledged.
Store = Callable[[list[Article]], Awaitable[int]]


@dataclass
class StreamReport:
    """What one poll of a stream did."""

    read: int = 0  # entries handed to this consumer (new and reclaimed)
    reclaimed: int = 0  # of them, taken over from another consumer (XAUTOCLAIM)
    stored: int = 0  # articles handed to the store and acknowledged
    malformed: int = 0  # entries that are not an article: warned about, acknowledged
    error: str | None = None  # Redis unreachable or refusing: nothing acknowledged


class StreamConsumer:
    """One replica's consumer of one ``redis-stream`` source."""

    def __init__(
        self,
        spec: SourceSpec,
        consumer: str,
        store: Store,
        *,
        claim_idle_s: float = DEFAULT_CLAIM_IDLE_S,
        batch: int = DEFAULT_BATCH,
        block_ms: int = DEFAULT_BLOCK_MS,
        client: aioredis.Redis | None = None,
    ) -> None:
        if not (spec.is_stream and spec.url and spec.stream and spec.group):
            raise ValueError(f"{spec.name}: not a redis-stream source")
        self.spec = spec
        self.name = spec.name
        self.stream, self.group = spec.stream, spec.group
        self.consumer = spec.consumer or consumer
        self.store = store
        self.claim_idle_ms = max(int(claim_idle_s * 1000), 0)
        self.batch = max(batch, 1)
        self.block_ms = max(block_ms, 0)
        self.client = client or aioredis.Redis.from_url(
            spec.url,
            socket_connect_timeout=5,
            socket_timeout=self.block_ms / 1000 + 10,  # a blocking read is not a timeout
        )
        self._group_ready = False
        self._own_pending = True  # re-read this consumer's own pending entries first

    async def close(self) -> None:
        await self.client.aclose()

    async def poll(self, *, block: bool = True) -> StreamReport:
        """Reclaim what dead consumers left, then read new entries (waiting up to
        ``block_ms`` for some when ``block``); store and acknowledge them."""
        report = StreamReport()
        try:
            if not self._group_ready:
                await self._create_group()
            if self._own_pending:
                entries = await self._read("0", block=False)
                if not entries:
                    self._own_pending = False
                await self._handle(entries, report)
                if entries:
                    return report
            reclaimed = await self._reclaim()
            report.reclaimed = len(reclaimed)
            await self._handle(reclaimed, report)
            if len(reclaimed) < self.batch:
                await self._handle(await self._read(">", block=block), report)
        except RedisError as err:
            self._group_ready = False
            report.error = one_line(f"{type(err).__name__}: {err}")
            log.warning(
                "source %s: redis stream %s unavailable: %s", self.name, self.stream, report.error
            )
        return report

    async def _create_group(self) -> None:
        """The group, from the stream's first entry, and the stream if missing (MKSTREAM)."""
        try:
            await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            log.info("source %s: consumer group %s created on %s", self.name, self.group, self.stream)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise
        self._group_ready = True

    async def _read(self, start: str, *, block: bool) -> list[tuple[Any, Any]]:
        answer: Any = await self.client.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: start},
            count=self.batch,
            block=self.block_ms if block and start == ">" else None,
        )
        if not answer:
            return []
        return [entry for _, entries in answer for entry in entries]  # [[stream, entries]]

    async def _reclaim(self) -> list[tuple[Any, Any]]:
        """Entries pending in another consumer for at least ``claim_idle_ms``, now ours."""
        answer: Any = await self.client.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, "0-0", count=self.batch
        )
        entries = answer[1] if len(answer) > 1 else []
        return list(entries)

    async def _handle(self, entries: list[tuple[Any, Any]], report: StreamReport) -> None:
        """Parse, store, acknowledge: malformed entries and stored articles are acked."""
        if not entries:
            return
        report.read += len(entries)
        acks: list[Any] = []
        articles: list[Article] = []
        article_ids: list[Any] = []
        for entry_id, fields in entries:
            if fields is None:  # deleted from the stream while pending
                acks.append(entry_id)
                continue
            try:
                articles.append(self._article(entry_id, fields))
                article_ids.append(entry_id)
            except IngestError as err:
                report.malformed += 1
                log.warning("source %s: entry %s skipped: %s", self.name, _text(entry_id), err)
                acks.append(entry_id)
        try:
            stored = await self.store(articles) if articles else 0
        finally:
            if acks:
                await self.client.xack(self.stream, self.group, *acks)
        report.stored += stored
        if stored:
            await self.client.xack(self.stream, self.group, *article_ids[:stored])

    def _article(self, entry_id: Any, fields: dict[Any, Any]) -> Article:
        where = f"entry {_text(entry_id)}"
        data = {_text(k): _text(v) for k, v in fields.items()}
        payload = next((data[k] for k in PAYLOAD_FIELDS if k in data), None)
        obj: Any = data
        if payload is not None:
            try:
                obj = json.loads(payload)
            except json.JSONDecodeError as err:
                raise IngestError(f"not JSON ({err.msg} at character {err.pos})") from None
        return article_from_object(obj, where, source=self.name, origin=f"stream {self.stream}")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
