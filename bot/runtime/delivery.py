"""Outbox sending: claim rows, send through a Notifier, mark them.

A crash between sending and marking may repeat a message (the lease
expires and another sender takes the row); it never loses one. The
(subscription, alert) unique key means an alert is queued once per chat.
Chat platforms live in ``handlers/``; this module only knows the
:class:`Notifier` protocol.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot import metrics
from bot.logs import bind, log_scope
from bot.store import claim_deliveries, mark_failed, mark_sent, pause_subscription, session_scope
from bot.store.db import SessionFactory
from bot.store.tables import Alert, Delivery, utcnow

log = logging.getLogger(__name__)

RETRY_BASE_S = 10.0
RETRY_MAX_S = 3600.0
NOT_SERVED = "chat not in ALLOWED_CHATS"
_reported_not_served: set[str] = set()


def report_not_served(chat_key: str, what: str) -> None:
    """One WARNING per chat and process: its pushes are skipped, its subscriptions kept
    (adding the chat back to ALLOWED_CHATS resumes them)."""
    if chat_key in _reported_not_served:
        return
    _reported_not_served.add(chat_key)
    log.warning(
        "%s to %s skipped: the chat is not in ALLOWED_CHATS (its subscriptions stay; "
        "add it to ALLOWED_CHATS to resume)",
        what,
        chat_key,
    )


@dataclass(frozen=True)
class AlertView:
    """What a chat message about an alert needs, detached from the database."""

    id: int
    watchlist: str
    title: str
    url: str
    source: str
    published: str
    score: float
    summary: str
    hits: list[dict[str, Any]] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)
    created_at: datetime | None = None

    @property
    def matched_texts(self) -> list[str]:
        return sorted({str(h.get("text", "")) for h in self.hits if h.get("text")})


def alert_view(alert: Alert) -> AlertView:
    art = alert.article
    return AlertView(
        id=alert.id,
        watchlist=alert.watchlist,
        title=art.title if art else alert.story.title,
        url=art.url if art else "",
        source=art.source_name if art else "",
        published=art.published_at.isoformat() if art and art.published_at else "",
        score=alert.score,
        summary=alert.summary,
        hits=list(alert.hits or []),
        outlets=[o.outlet for o in alert.outlets],
        created_at=alert.created_at,
    )


class DeliveryError(Exception):
    """A send that failed. ``permanent``: retrying cannot help (bot blocked, chat gone)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Notifier(Protocol):
    """A chat platform's way of pushing an alert (see handlers/)."""

    platform: str
    min_interval: float  # seconds between two messages to one chat (platform limit)

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        """Send it; return the platform's message reference. Raise DeliveryError on failure."""
        ...


class ChatPacer:
    """At most one message per ``interval`` seconds to any one chat."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self._next: dict[str, float] = defaultdict(float)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def wait(self, chat_key: str, interval: float | None = None) -> None:
        gap = self.interval if interval is None else interval
        if gap <= 0:
            return
        async with self._locks[chat_key]:
            delay = self._next[chat_key] - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next[chat_key] = time.monotonic() + gap


@dataclass
class Claimed:
    delivery_id: int
    subscription_id: int
    chat_key: str
    platform: str
    attempts: int
    skip_reason: str | None
    alert: AlertView


def _claim(
    factory: SessionFactory, worker: str, limit: int, now: datetime, lease_s: float = 60
) -> list[Claimed]:
    out = []
    with session_scope(factory) as session:
        for d in claim_deliveries(session, worker, limit=limit, lease_s=lease_s, now=now):
            out.append(_describe(d, now))
    return out


def _describe(d: Delivery, now: datetime) -> Claimed:
    sub = d.subscription
    skip = None
    if sub.paused_reason:
        skip = f"subscription paused: {sub.paused_reason}"
    elif sub.muted_until is not None and sub.muted_until > now:
        skip = "subscription muted"
    elif not sub.chat.allowed:
        skip = "chat not allowed"
    return Claimed(
        d.id, sub.id, sub.chat.chat_key, sub.chat.platform, d.attempts, skip, alert_view(d.alert)
    )


def retry_delay(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(retry_after, 1.0)
    return min(RETRY_BASE_S * 2 ** max(attempts - 1, 0), RETRY_MAX_S)


async def drain_outbox(
    factory: SessionFactory,
    notifiers: dict[str, Notifier],
    worker: str,
    *,
    limit: int = 20,
    lease_s: float = 60,
    pacer: ChatPacer | None = None,
    serves: Callable[[str], bool] | None = None,
) -> int:
    """Send what is due; returns how many messages went out.

    ``serves`` (``Settings.serves``, i.e. ALLOWED_CHATS) is checked at sending
    time, so a chat that subscribed before the allow-list changed gets nothing:
    its rows are marked failed with :data:`NOT_SERVED` (not retried), logged
    once per chat.
    """
    now = utcnow()
    claimed = await asyncio.to_thread(_claim, factory, worker, limit, now, lease_s)
    pacer = pacer or ChatPacer()
    sent = 0
    for item in claimed:
        if item.skip_reason is None and serves is not None and not serves(item.chat_key):
            item.skip_reason = NOT_SERVED
            report_not_served(item.chat_key, "alerts")
        sent += await _send_one(factory, notifiers, worker, pacer, item)
    return sent


@log_scope
async def _send_one(
    factory: SessionFactory,
    notifiers: dict[str, Notifier],
    worker: str,
    pacer: ChatPacer,
    item: Claimed,
) -> int:
    bind(delivery_id=item.delivery_id, alert_id=item.alert.id, chat=item.chat_key)
    notifier = notifiers.get(item.platform)
    if item.skip_reason or notifier is None:
        reason = item.skip_reason or f"no {item.platform} connection in this process"
        retry = None if item.skip_reason else utcnow() + timedelta(seconds=60)
        await asyncio.to_thread(_failed, factory, item.delivery_id, worker, reason, retry)
        metrics.delivered(item.platform, metrics.SKIPPED if item.skip_reason else metrics.RETRY)
        return 0
    await pacer.wait(item.chat_key, notifier.min_interval)
    try:
        ref = await notifier.send_alert(item.chat_key, item.alert)
    except DeliveryError as err:
        await asyncio.to_thread(_after_error, factory, worker, item, err)
        metrics.delivered(item.platform, metrics.FAILED if err.permanent else metrics.RETRY)
        return 0
    with session_scope(factory) as session:
        mark_sent(session, item.delivery_id, ref)
    metrics.delivered(item.platform, metrics.SENT, item.alert.created_at)
    return 1


def _failed(
    factory: SessionFactory, delivery_id: int, worker: str, error: str, retry: datetime | None
) -> None:
    with session_scope(factory) as session:
        mark_failed(session, delivery_id, worker, error, retry)


def _after_error(factory: SessionFactory, worker: str, item: Claimed, err: DeliveryError) -> None:
    message = str(err)
    with session_scope(factory) as session:
        if err.permanent:
            log.warning(
                "delivery %s to %s failed for good: %s", item.delivery_id, item.chat_key, message
            )
            mark_failed(session, item.delivery_id, worker, message, None)
            pause_subscription(session, item.subscription_id, message)
            return
        delay = retry_delay(item.attempts, err.retry_after)
        log.info(
            "delivery %s to %s retried in %.0fs: %s",
            item.delivery_id,
            item.chat_key,
            delay,
            message,
        )
        mark_failed(session, item.delivery_id, worker, message, utcnow() + timedelta(seconds=delay))
