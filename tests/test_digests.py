"""Scheduled digests: periods in the chat's zone, once per period across restarts and
replicas, nothing for an empty period, retries after a failed send."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from conftest import pg_schema
from test_answers_support import KYIV, add_alert, belarus_service, hit, utc

from bot.answers.digests import digest_job, digest_period
from bot.runtime.delivery import AlertView, DeliveryError
from bot.runtime.scheduler import InFlight, make_scheduler, schedule_all
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.subscriptions import get_subscription, mute, subscribe, upsert_chat
from bot.store.tables import Subscription
from handlers.commands.answers import due_digests, send_digests
from handlers.reply import Reply

CHAT = "telegram:-500"
# 08:00:05 in Kyiv (UTC+2) on Monday 2026-11-02
MORNING = utc(2026, 11, 2, 6, 0, 5)


class FakeNotifier:
    """A notifier that can send replies (the lead adds ``send_reply`` to the real ones)."""

    platform = "telegram"
    min_interval = 0.0

    def __init__(self, fail: DeliveryError | None = None) -> None:
        self.sent: list[tuple[str, Reply]] = []
        self.fail = fail

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        return None

    async def send_reply(self, chat_key: str, reply: Reply) -> str | None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((chat_key, reply))
        return str(len(self.sent))


class AlertsOnly:
    """A notifier without ``send_reply``: its digests are left for another replica."""

    platform = "telegram"
    min_interval = 0.0

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        return None


def _subscribe(
    service: Service, mode: str = "daily", at: str | None = "08:00", tz: str = KYIV
) -> int:
    with session_scope(service.factory) as s:
        chat = upsert_chat(s, "telegram", CHAT, "Desk", timezone=tz)
        sub, _ = subscribe(s, chat.id, "belarus-watch", mode, at)
        return sub.id


def _restart(service: Service, worker: str = "replica-2") -> Service:
    """Another process on the same database (a restart, or a second replica)."""
    again = Service(service.settings, worker=worker)
    again.load_watchlists()
    return again


def _chat_id(service: Service, subscription_id: int) -> int:
    with session_scope(service.factory) as s:
        return s.get_one(Subscription, subscription_id).chat_id


def _alerts(service: Service, *moments: datetime) -> None:
    with session_scope(service.factory) as s:
        for i, at in enumerate(moments):
            add_alert(s, at=at, title=f"Minsk report {i}", hits=[hit("Belarus", said="Minsk")])


# --- periods ---------------------------------------------------------------


def test_daily_period_is_the_local_day_to_the_chosen_time() -> None:
    period, key = digest_period("daily", "08:00", KYIV, MORNING)
    assert (period.start, period.end, key) == (
        utc(2026, 11, 1, 6),
        utc(2026, 11, 2, 6),
        "daily:2026-11-02",
    )
    assert period.label == "2026-11-01 08:00 to 2026-11-02 08:00"
    before, key = digest_period("daily", "08:00", KYIV, MORNING - timedelta(seconds=10))
    assert key == "daily:2026-11-01" and before.end == utc(2026, 11, 1, 6)
    # the day of the DST change in Kyiv (Oct 25) has 25 hours
    dst, _ = digest_period("daily", "08:00", KYIV, utc(2026, 10, 25, 7))
    assert dst.length == timedelta(hours=25)


def test_hourly_period_is_the_last_local_hour() -> None:
    period, key = digest_period("hourly", None, "Asia/Kolkata", utc(2026, 11, 2, 10, 31))  # 16:01
    assert (period.start, period.end) == (utc(2026, 11, 2, 9, 30), utc(2026, 11, 2, 10, 30))
    assert key == "hourly:2026-11-02T10:30Z" and period.label == "the hour to 16:00"
    with pytest.raises(ValueError):
        digest_period("instant", None, "UTC", MORNING)


# --- sending ---------------------------------------------------------------


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = belarus_service(tmp_path)
    yield svc
    svc.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """A service on each backend (PostgreSQL: a schema of its own, what replicas share)."""
    if request.param == "sqlite":
        svc = belarus_service(tmp_path)
        yield svc
        svc.engine.dispose()
        return
    with pg_schema() as engine:
        url = engine.url.render_as_string(hide_password=False)
        svc = belarus_service(tmp_path, database_url=url)
        yield svc
        svc.engine.dispose()


async def test_a_daily_digest_goes_once_even_after_a_restart(shared: Service) -> None:
    service = shared
    fake = FakeNotifier()
    service.notifiers["telegram"] = fake
    _subscribe(service)
    _alerts(service, MORNING - timedelta(hours=3), MORNING - timedelta(hours=20))
    _alerts(service, MORNING - timedelta(days=2))  # before the period: not counted
    assert await send_digests(service, MORNING) == 1
    ((chat, reply),) = fake.sent
    shown = reply.plain_text
    assert chat == CHAT
    assert shown.startswith(
        "Daily digest — belarus-watch, 2026-11-01 08:00 to 2026-11-02 08:00 Europe/Kyiv"
    )
    assert "2 alerts on 2 stories" in shown and "• Belarus — 2" in shown
    assert await send_digests(service, MORNING + timedelta(minutes=1)) == 0
    await service.close()
    # a restart: a new service on the same database
    again = _restart(service)
    later = FakeNotifier()
    again.notifiers["telegram"] = later
    try:
        assert await send_digests(again, MORNING + timedelta(minutes=2)) == 0
        assert later.sent == []
        _alerts(again, MORNING + timedelta(hours=5))
        assert await send_digests(again, MORNING + timedelta(days=1)) == 1  # the next day
    finally:
        await again.close()


async def test_two_replicas_claim_each_digest_once(shared: Service) -> None:
    service = shared
    _subscribe(service)
    _alerts(service, MORNING - timedelta(hours=1))
    other = _restart(service)
    try:
        first = await due_digests(service, MORNING)
        second = await due_digests(other, MORNING)
    finally:
        await other.close()
    assert len(first) + len(second) == 1
    (message,) = first
    assert (message.platform, message.chat_key) == ("telegram", CHAT)


async def test_an_empty_period_sends_nothing(service: Service) -> None:
    fake = FakeNotifier()
    service.notifiers["telegram"] = fake
    _subscribe(service, "hourly", None)
    _alerts(service, MORNING - timedelta(hours=3))  # not in the last hour
    assert await send_digests(service, MORNING) == 0 and fake.sent == []
    assert await send_digests(service, MORNING + timedelta(minutes=1)) == 0  # already looked at
    _alerts(service, MORNING + timedelta(minutes=30))
    assert await send_digests(service, MORNING + timedelta(hours=1)) == 1
    assert fake.sent[0][1].plain_text.startswith("Hourly digest — belarus-watch, the hour to 09:00")


async def test_too_late_or_muted_or_not_sendable_is_not_sent(service: Service) -> None:
    sub = _subscribe(service)
    _alerts(service, MORNING - timedelta(hours=1))
    service.notifiers["telegram"] = AlertsOnly()  # type: ignore[assignment]
    assert await send_digests(service, MORNING) == 0
    fake = FakeNotifier()
    service.notifiers["telegram"] = fake
    assert await send_digests(service, MORNING + timedelta(hours=4)) == 0  # past the grace time
    with session_scope(service.factory) as s:
        mute(s, _chat_id(service, sub), "belarus-watch", MORNING + timedelta(days=3))
    _alerts(service, MORNING + timedelta(hours=2))
    assert await send_digests(service, MORNING + timedelta(days=1)) == 0
    assert fake.sent == []


async def test_a_failed_send_is_retried_and_a_permanent_failure_pauses(service: Service) -> None:
    sub = _subscribe(service)
    _alerts(service, MORNING - timedelta(hours=1))
    flaky = FakeNotifier(DeliveryError("timeout"))
    service.notifiers["telegram"] = flaky
    assert await send_digests(service, MORNING) == 0
    flaky.fail = None
    assert await send_digests(service, MORNING + timedelta(minutes=1)) == 1
    _alerts(service, MORNING + timedelta(hours=1))
    flaky.fail = DeliveryError("bot was blocked by the user", permanent=True)
    assert await send_digests(service, MORNING + timedelta(days=1)) == 0
    with session_scope(service.factory) as s:
        paused = get_subscription(s, _chat_id(service, sub), "belarus-watch")
        assert paused is not None and paused.paused_reason == "bot was blocked by the user"


def test_the_scheduler_runs_the_digest_job_every_minute(service: Service) -> None:
    assert digest_job() is send_digests  # registered by handlers.commands.answers
    scheduler: AsyncIOScheduler = make_scheduler()
    schedule_all(scheduler, service, InFlight())
    job = scheduler.get_job("digests")
    assert job is not None and "second='5'" in str(job.trigger)
