"""Scheduled digests: which hourly and daily subscriptions have a period that just ended.

A subscription's period is read in its chat's time zone: ``hourly`` is the
last full local hour (in a zone 30 minutes off UTC the hour ends at :30
UTC), ``daily HH:MM`` the local day that ended at HH:MM today (23 or 25 hours
across a DST change). The job runs every minute; a period is due from its
end until ``GRACE`` later (a bot that was down longer skips it rather than
sending stale digests), and only once: :func:`bot.store.subscriptions.claim_digest`
inserts the unique (subscription, period key), so one replica, once, even
across restarts. A digest whose send fails is released (the claim row is
deleted) and tried again the next minute, within the grace period.

Rendering needs ``handlers/``, which ``bot/`` never imports: the handlers
register the job that renders and sends (:func:`register_digest_job`), and
``bot/scheduler.py`` schedules whatever is registered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from bot.answers.periods import Period, zone_of
from bot.store.subscriptions import digest_subscriptions
from bot.store.tables import DigestSent

if TYPE_CHECKING:
    from bot.runtime.service import Service

__all__ = [
    "GRACE",
    "DigestJob",
    "DuePeriod",
    "digest_job",
    "digest_period",
    "due_periods",
    "register_digest_job",
    "release_digest",
]

GRACE = {"hourly": timedelta(minutes=20), "daily": timedelta(hours=3)}

DigestJob = Callable[["Service", datetime], Awaitable[int]]
_JOB: list[DigestJob] = []


def register_digest_job(job: DigestJob) -> None:
    """The job the scheduler runs every minute (handlers register it on import)."""
    _JOB[:] = [job]


def digest_job() -> DigestJob | None:
    return _JOB[0] if _JOB else None


@dataclass(frozen=True)
class DuePeriod:
    """A subscription whose digest period ended and has not been claimed yet."""

    subscription_id: int
    platform: str
    chat_key: str
    watchlist: str
    mode: str
    period: Period
    key: str  # the once-only key: "daily:2026-11-02", "hourly:2026-11-02T07:00Z"
    muted: bool


def digest_period(mode: str, daily_at: str | None, tz: str, now: datetime) -> tuple[Period, str]:
    """The last period of a ``mode`` subscription that ended at or before ``now``, and its key."""
    z = zone_of(tz)
    local = now.astimezone(z)
    if mode == "hourly":
        end_local = local.replace(minute=0, second=0, microsecond=0)
        end = end_local.astimezone(UTC)
        start = end - timedelta(hours=1)
        label = f"the hour to {end_local:%H:%M}"
        key = f"hourly:{end:%Y-%m-%dT%H:%MZ}"
        return Period(start, end, label, z.key, 0, "hour"), key
    if mode != "daily":
        raise ValueError(f"no digest for mode {mode!r}")
    hour, minute = _clock(daily_at or "08:00")
    day = local.date()
    end_local = datetime.combine(day, time(hour, minute), tzinfo=z)
    if end_local > local:
        day -= timedelta(days=1)
        end_local = datetime.combine(day, time(hour, minute), tzinfo=z)
    start_local = datetime.combine(day - timedelta(days=1), time(hour, minute), tzinfo=z)
    start, end = start_local.astimezone(UTC), end_local.astimezone(UTC)
    label = f"{start_local:%Y-%m-%d %H:%M} to {end_local:%Y-%m-%d %H:%M}"
    return Period(start, end, label, z.key, 1, "day"), f"daily:{day.isoformat()}"


def due_periods(
    session: Session, now: datetime, platforms: Collection[str] | None = None
) -> list[DuePeriod]:
    """Digest periods that ended within their grace time and are not claimed yet
    (only chats of ``platforms`` when given: a replica claims only what it can send)."""
    due: list[DuePeriod] = []
    for mode in ("hourly", "daily"):
        for sub in digest_subscriptions(session, mode):
            chat = sub.chat
            if platforms is not None and chat.platform not in platforms:
                continue
            period, key = digest_period(mode, sub.daily_at, chat.timezone or "UTC", now)
            if not period.end <= now <= period.end + GRACE[mode]:
                continue
            if _claimed(session, sub.id, key):
                continue
            muted = sub.muted_until is not None and sub.muted_until > now
            due.append(
                DuePeriod(
                    sub.id, chat.platform, chat.chat_key, sub.watchlist, mode, period, key, muted
                )
            )
    return due


def release_digest(session: Session, subscription_id: int, period_key: str) -> None:
    """Undo a claim (the send failed): the next run may claim and send it again."""
    session.execute(
        delete(DigestSent).where(
            DigestSent.subscription_id == subscription_id, DigestSent.period_key == period_key
        )
    )


def _claimed(session: Session, subscription_id: int, key: str) -> bool:
    stmt = select(
        exists().where(DigestSent.subscription_id == subscription_id, DigestSent.period_key == key)
    )
    return bool(session.execute(stmt).scalar())


def _clock(value: str) -> tuple[int, int]:
    hour, _, minute = value.partition(":")
    try:
        h, m = int(hour), int(minute)
    except ValueError:
        return 8, 0
    return (h, m) if 0 <= h <= 23 and 0 <= m <= 59 else (8, 0)
