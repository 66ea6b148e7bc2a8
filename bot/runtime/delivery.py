"""Outbox sending: claim rows, send through a Notifier, mark them.

A crash between sending and marking may repeat a message (the lease
expires and another sender takes the row); it never loses one. The
(subscription, alert) unique key means an alert is queued once per chat.
Chat platforms live in ``handlers/``; this module only knows the
:class:`Notifier` protocol.

Each chat with something due gets a *lane*: its backlog claimed in one go,
sent in order at the chat's pace (Telegram 1 message/s in a private chat,
20/min in a group; Slack 1/s per channel), while the other chats' lanes
run beside it, all under the platform's per-bot rate (Telegram 30/s). A
backlog longer than ``fold_threshold`` is a flood: the first
``fold_threshold`` alerts go out one by one, the rest as one digest message
listing each of them (``Notifier.send_fold``), and every folded row is
marked sent — nothing dropped, nothing minutes late.

:class:`Sender` runs the lanes for ``alertbot run``: woken when an alert's
outbox rows commit (:meth:`Sender.wake`; on PostgreSQL also by ``NOTIFY``
from any replica, :mod:`bot.store.notify`), and every ``drain_s`` seconds
anyway, the safety net for retries that came due and a missed wake.
:func:`drain_outbox` is one pass of the same lanes (``run --once``, tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Engine

from bot import metrics
from bot.limits import MAX_FOLD_ALERTS, MAX_SENDER_LANES
from bot.logs import bind, log_scope
from bot.store import mark_failed, mark_sent, pause_subscription, session_scope
from bot.store.db import SessionFactory
from bot.store.notify import listen_outbox, listens
from bot.store.outbox import claim_chat_deliveries, due_chats, due_count, postpone_chat
from bot.store.tables import Alert, Delivery, utcnow

log = logging.getLogger(__name__)

DEFAULT_FOLD_THRESHOLD = 10
DEFAULT_DRAIN_S = 5.0
LEASE_S = 60.0
FLOOD_WINDOW_S = 60.0  # FOLD_THRESHOLD single pushes per chat within this, then folds
FOLD_SETTLE_S = 1.0  # a growing backlog is looked at this often before it is folded
FOLD_MAX_WAIT_S = 10.0  # and folded after this at the latest, growing or not
OUTBOX_THREADS = 2
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
    """A chat platform's way of pushing an alert (see handlers/).

    Optional, looked up with ``getattr`` (a notifier without them still works):
    ``chat_interval(chat_key) -> float`` (the pace of one chat when it differs
    from ``min_interval``, e.g. a Telegram group), ``max_rate`` (messages per
    second for the whole bot; None: no such limit) and
    ``send_fold(chat_key, alerts) -> str | None`` (one message listing many
    alerts; without it a flood is sent one alert at a time).
    """

    platform: str
    min_interval: float  # seconds between two messages to one chat (platform limit)

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        """Send it; return the platform's message reference. Raise DeliveryError on failure."""
        ...


class ChatPacer:
    """At most one message per ``interval`` seconds to any one chat, and at most
    ``rate`` messages per second per platform (:meth:`bot_slot`)."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self._next: dict[str, float] = defaultdict(float)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._bot_next: dict[str, float] = defaultdict(float)
        self._bot_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def wait(self, chat_key: str, interval: float | None = None) -> None:
        gap = self.interval if interval is None else interval
        if gap <= 0:
            return
        async with self._locks[chat_key]:
            delay = self._next[chat_key] - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next[chat_key] = time.monotonic() + gap

    async def bot_slot(self, platform: str, rate: float | None) -> None:
        """Wait for the platform's next send slot: messages spaced ``1 / rate`` apart
        (Telegram's 30/s per bot), whichever chat they go to."""
        if not rate or rate <= 0:
            return
        async with self._bot_locks[platform]:
            delay = self._bot_next[platform] - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._bot_next[platform] = time.monotonic() + 1.0 / rate

    async def pace(self, chat_key: str, notifier: Notifier) -> None:
        """Both waits before one message of ``notifier`` to ``chat_key``."""
        await self.wait(chat_key, chat_interval(notifier, chat_key))
        await self.bot_slot(notifier.platform, getattr(notifier, "max_rate", None))


def chat_interval(notifier: Notifier, chat_key: str) -> float:
    """Seconds between two messages of ``notifier`` to ``chat_key``."""
    of_chat = getattr(notifier, "chat_interval", None)
    return float(of_chat(chat_key)) if of_chat is not None else notifier.min_interval


@dataclass
class Claimed:
    delivery_id: int
    subscription_id: int
    chat_key: str
    platform: str
    attempts: int
    skip_reason: str | None
    alert: AlertView


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


@dataclass
class Outbox:
    """What a lane needs: where the rows are, who sends, and how."""

    factory: SessionFactory
    notifiers: dict[str, Notifier]
    worker: str
    pacer: ChatPacer = field(default_factory=ChatPacer)
    serves: Callable[[str], bool] | None = None
    fold_threshold: int = DEFAULT_FOLD_THRESHOLD
    lease_s: float = LEASE_S  # OUTBOX_LEASE_S: how long a claimed row is this sender's
    stopping: Callable[[], bool] = lambda: False
    # single pushes per chat in the last FLOOD_WINDOW_S (monotonic times): what is left of
    # a chat's FOLD_THRESHOLD when its next backlog comes
    _recent: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    # the outbox's own threads: its many small writes never queue ahead of the articles
    # being stored (asyncio's default pool is a handful of threads shared by everything)
    _pool: ThreadPoolExecutor | None = None
    # messages sent at once by this process (SENDS_IN_FLIGHT): a crash repeats at most
    # this many (sent, not yet marked); the lanes still pace every chat beside the others
    sends_in_flight: int = 1
    _gate: asyncio.Semaphore | None = None

    def gate(self) -> asyncio.Semaphore:
        if self._gate is None:
            self._gate = asyncio.Semaphore(max(self.sends_in_flight, 1))
        return self._gate

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(OUTBOX_THREADS, thread_name_prefix="outbox")
        # the caller's context goes along (as with asyncio.to_thread): its log ids too
        context = contextvars.copy_context()
        call = partial(context.run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def _count(self, chat_id: int) -> int:
        with session_scope(self.factory) as session:
            return due_count(session, chat_id, utcnow())

    def _budget(self, chat_id: int) -> int:
        """Single pushes the chat may still get before what is due is folded."""
        recent, now = self._recent[chat_id], time.monotonic()
        while recent and recent[0] < now - FLOOD_WINDOW_S:
            recent.popleft()
        return max(self.fold_threshold - len(recent), 0)

    async def _settle(self, chat_id: int, due: int) -> None:
        """While the chat's backlog still grows (a burst being stored), wait for it to
        stop — at most FOLD_MAX_WAIT_S — so one digest holds the whole burst."""
        waited = 0.0
        while waited < FOLD_MAX_WAIT_S and not self.stopping():
            await asyncio.sleep(FOLD_SETTLE_S)
            waited += FOLD_SETTLE_S
            now = await self._db(self._count, chat_id)
            if now <= due:
                return
            due = now

    def _due(self) -> list[tuple[int, str, str, int]]:
        with session_scope(self.factory) as session:
            return due_chats(session, utcnow(), MAX_SENDER_LANES * 4)

    def _claim(self, chat_id: int, limit: int) -> list[Claimed]:
        now = utcnow()
        with session_scope(self.factory) as session:
            rows = claim_chat_deliveries(session, self.worker, chat_id, limit, self.lease_s, now)
            return [_describe(d, now) for d in rows]

    async def due(self) -> list[tuple[int, str, str, int]]:
        """``(chat id, platform, chat key, rows due)`` of the chats with something to send."""
        return await self._db(self._due)

    async def drain_chat(self, chat_id: int, platform: str, chat_key: str, backlog: int) -> int:
        """One lane: send the chat's ``backlog`` in order, folding a flood.

        Each row is claimed only when its turn has come — after the chat's and the
        bot's pace, holding one of the SENDS_IN_FLIGHT places — and sent at once,
        so its lease (OUTBOX_LEASE_S) covers the send, not the wait before it (a
        short lease that ran out while a row waited would let another replica send
        it too). A flood's rest is claimed in one go right before its digest goes
        out (rows that arrived meanwhile are in it too). Returns how many alerts
        were delivered (each alert a fold lists counts); -1 when nothing could be
        claimed (another sender holds the chat's rows).
        """
        notifier = self.notifiers.get(platform)
        fold = getattr(notifier, "send_fold", None)
        budget = self._budget(chat_id)
        flood = fold is not None and self.fold_threshold > 0 and backlog > budget
        singles = budget if flood else backlog
        sent, claimed_any = 0, False
        for _ in range(singles):
            if self.stopping():
                return sent
            if notifier is not None:
                await self.pacer.pace(chat_key, notifier)
            async with self.gate():
                items = await self._sendable(await self._db(self._claim, chat_id, 1))
                if items is None:
                    return sent if claimed_any else -1
                claimed_any = True
                if not items:
                    continue
                item = items[0]
                assert notifier is not None
                outcome = await self._send_one(notifier, item)
            if isinstance(outcome, DeliveryError) and not outcome.permanent:
                # the chat (or the bot) takes nothing now: its other rows wait as long
                await self._db(self._postpone, chat_id, _retry_at(item, outcome))
                return sent
            if outcome is None:
                sent += 1
                self._recent[chat_id].append(time.monotonic())
        if flood and not self.stopping():
            assert fold is not None and notifier is not None
            left = await self._db(self._count, chat_id)
            if left > backlog - singles:  # more came while the singles went out
                await self._settle(chat_id, left)
            await self.pacer.pace(chat_key, notifier)
            async with self.gate():
                items = await self._sendable(
                    await self._db(self._claim, chat_id, MAX_FOLD_ALERTS)
                )
                if items is None:
                    return sent if claimed_any else -1
                if len(items) == 1:  # a flood's tail of one: an ordinary push
                    sent += await self._send_one(notifier, items[0]) is None
                elif items:
                    sent += await self._send_fold(fold, items)
        return sent

    async def _sendable(self, claimed: list[Claimed]) -> list[Claimed] | None:
        """The claimed rows that can be sent; the others (paused, muted, not served, no
        connection for the platform here) are marked failed. None: nothing claimed."""
        if not claimed:
            return None
        sendable: list[Claimed] = []
        for item in claimed:
            served = self.serves is None or self.serves(item.chat_key)
            if item.skip_reason is None and not served:
                item.skip_reason = NOT_SERVED
                report_not_served(item.chat_key, "alerts")
            if item.skip_reason or item.platform not in self.notifiers:
                reason = item.skip_reason or f"no {item.platform} connection in this process"
                retry = None if item.skip_reason else utcnow() + timedelta(seconds=60)
                await self._db(
                    _failed, self.factory, item.delivery_id, self.worker, reason, retry
                )
                result = metrics.SKIPPED if item.skip_reason else metrics.RETRY
                metrics.delivered(item.platform, result)
                continue
            sendable.append(item)
        return sendable

    def _postpone(self, chat_id: int, until: datetime) -> None:
        with session_scope(self.factory) as session:
            postpone_chat(session, chat_id, until)

    @log_scope
    async def _send_one(self, notifier: Notifier, item: Claimed) -> DeliveryError | None:
        bind(delivery_id=item.delivery_id, alert_id=item.alert.id, chat=item.chat_key)
        try:
            ref = await notifier.send_alert(item.chat_key, item.alert)
        except DeliveryError as err:
            await self._db(_after_error, self.factory, self.worker, item, err)
            metrics.delivered(item.platform, metrics.FAILED if err.permanent else metrics.RETRY)
            return err
        await self._db(_sent, self.factory, [item.delivery_id], ref)
        metrics.delivered(item.platform, metrics.SENT, item.alert.created_at)
        return None

    @log_scope
    async def _send_fold(self, fold: Callable[..., Any], items: list[Claimed]) -> int:
        chat_key = items[0].chat_key
        bind(chat=chat_key)
        try:
            ref = await fold(chat_key, [i.alert for i in items])
        except DeliveryError as err:
            for item in items:
                await self._db(_after_error, self.factory, self.worker, item, err)
                metrics.delivered(
                    item.platform, metrics.FAILED if err.permanent else metrics.RETRY
                )
            return 0
        log.info("%s: %d alerts folded into one message (a flood)", chat_key, len(items))
        await self._db(_sent, self.factory, [i.delivery_id for i in items], ref)
        for item in items:
            metrics.delivered(item.platform, metrics.SENT, item.alert.created_at)
        return len(items)


def _retry_at(item: Claimed, err: DeliveryError) -> datetime:
    return utcnow() + timedelta(seconds=retry_delay(item.attempts, err.retry_after))


async def drain_outbox(
    factory: SessionFactory,
    notifiers: dict[str, Notifier],
    worker: str,
    *,
    lease_s: float = LEASE_S,
    pacer: ChatPacer | None = None,
    serves: Callable[[str], bool] | None = None,
    fold_threshold: int = DEFAULT_FOLD_THRESHOLD,
) -> int:
    """Send what is due, every chat in a lane of its own; returns how many alerts were
    delivered (folded ones included).

    ``serves`` (``Settings.serves``, i.e. ALLOWED_CHATS) is checked at sending
    time, so a chat that subscribed before the allow-list changed gets nothing:
    its rows are marked failed with :data:`NOT_SERVED` (not retried), logged
    once per chat.
    """
    outbox = Outbox(
        factory, notifiers, worker, pacer or ChatPacer(), serves, fold_threshold, lease_s
    )
    chats = await outbox.due()
    gate = asyncio.Semaphore(MAX_SENDER_LANES)

    async def lane(chat_id: int, platform: str, chat_key: str, backlog: int) -> int:
        async with gate:
            return max(await outbox.drain_chat(chat_id, platform, chat_key, backlog), 0)

    return sum(await asyncio.gather(*(lane(*chat) for chat in chats)))


class Sender:
    """The outbox sender of ``alertbot run``: lanes started as soon as rows are due.

    :meth:`wake` (the service calls it when an article's alerts commit; the
    PostgreSQL listener when any replica's do) makes it look at once;
    otherwise it looks every ``drain_s`` seconds. A chat whose lane is running
    is left to it; when a lane ends it looks again (more may have come).
    """

    def __init__(self, outbox: Outbox, *, drain_s: float = DEFAULT_DRAIN_S) -> None:
        self.outbox = outbox
        self.drain_s = drain_s
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._busy: set[int] = set()
        self._lanes: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()  # set once the PostgreSQL LISTEN is in place
        outbox.stopping = self._stop.is_set

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self, engine: Engine | None = None) -> None:
        """Until :meth:`stop`: pump on every wake and every ``drain_s``; then let the
        running lanes finish the message in hand."""
        listener = None
        if engine is not None and listens(engine):
            listener = asyncio.ensure_future(
                listen_outbox(engine, self.wake, self._stop, ready=self.listening.set)
            )
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    await self.pump()
                except Exception:  # the database away for a moment: the next look retries
                    log.exception("outbox: looking for due messages failed")
                if self._stop.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.drain_s)
        finally:
            if self._lanes:
                await asyncio.gather(*self._lanes, return_exceptions=True)
            if listener is not None:
                await listener

    async def pump(self) -> None:
        """Start a lane for each due chat that has none (at most MAX_SENDER_LANES)."""
        for chat_id, platform, chat_key, backlog in await self.outbox.due():
            if len(self._busy) >= MAX_SENDER_LANES:
                return
            if chat_id in self._busy:
                continue
            self._busy.add(chat_id)
            task = asyncio.ensure_future(self._lane(chat_id, platform, chat_key, backlog))
            self._lanes.add(task)
            task.add_done_callback(self._lanes.discard)

    async def _lane(self, chat_id: int, platform: str, chat_key: str, backlog: int) -> None:
        claimed = False
        try:
            claimed = await self.outbox.drain_chat(chat_id, platform, chat_key, backlog) >= 0
        except Exception:
            log.exception("outbox: sending to chat %s failed", chat_id)
        finally:
            self._busy.discard(chat_id)
            if claimed:
                self.wake()


def _sent(factory: SessionFactory, delivery_ids: list[int], ref: str | None) -> None:
    with session_scope(factory) as session:
        for delivery_id in delivery_ids:
            mark_sent(session, delivery_id, ref)


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
