"""APScheduler wiring: the jobs of :class:`bot.runtime.service.Service` on one event loop.

APScheduler 3 cannot share a job store between processes, so every replica
schedules in memory and the work is claimed in the database (a source's
lease, an outbox row's claim). Job bodies are the service's plain async
methods; this module only says when they run.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.answers.digests import DigestJob, digest_job
from bot.runtime.learning import schedule_learning
from bot.runtime.service import Service

log = logging.getLogger("alertbot")

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
SOURCE_CHECK_MAX_S = 60  # a source's job looks at least this often whether it is due
SOURCE_RECHECK_S = 5  # due but not polled here (another replica holds it): look again soon
SYNC_SOURCES_S = 30
WATCHLISTS_S = 5
RETENTION_S = 6 * 3600
DIGEST_SECOND = 5  # digests are looked at every minute, 5 s past it


def make_scheduler() -> AsyncIOScheduler:
    return AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)


class InFlight:
    """Tracks running job tasks so shutdown can let them finish."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.stopping = False

    def wrap(self, job: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def tracked(*args: Any) -> Any:
            task = asyncio.current_task()
            if task is not None:
                self.tasks.add(task)
            try:
                return await job(*args)
            except asyncio.CancelledError:
                if not self.stopping:
                    raise
                # Cancelled by :meth:`wait` at shutdown: what it committed stays, what it
                # held is taken up again by the next start (leases and claims expire).
                log.warning("job %s was still running at shutdown: stopped", tracked.__name__)
                return None
            except Exception:
                log.exception("job %s failed", getattr(job, "__name__", job))
                return None
            finally:
                if task is not None:
                    self.tasks.discard(task)

        tracked.__name__ = getattr(job, "__name__", "job")
        return tracked

    async def wait(self, timeout: float) -> None:
        """Let running jobs finish for up to ``timeout`` seconds, then cancel the rest;
        each cancelled job ends with one warning line, not a traceback."""
        self.stopping = True
        await asyncio.sleep(0)  # a job task created just before this has not yet run a step
        pending = [t for t in self.tasks if t is not asyncio.current_task()]
        if not pending:
            return
        log.info("waiting for %d running job(s) to finish", len(pending))
        _, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=5)


def _now_plus(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def schedule_source(
    scheduler: AsyncIOScheduler, service: Service, inflight: InFlight, source_id: int, interval: int
) -> None:
    """One job per source. It runs when the database says the source is due: after each
    run it moves its own next run to the source's ``next_poll_at`` (:func:`plan_next`),
    so a 30 s source is polled every 30 s (±10 % jitter), not at the first check after
    it came due (a check every 30 s against a due time 27–33 s later made it 60 s).
    The trigger's own period (at most a minute) is the fallback that notices a source
    made due from elsewhere (``run --once``, another replica)."""
    every = max(5, min(interval, SOURCE_CHECK_MAX_S))
    job_id = f"source:{source_id}"

    async def poll_source(source_id: int) -> None:
        try:
            await service.poll_source(source_id)
        finally:
            due = await asyncio.to_thread(service.next_poll_at, source_id)
            plan_next(scheduler, job_id, due)

    poll_source.__name__ = "poll_source"
    scheduler.add_job(
        inflight.wrap(poll_source),
        IntervalTrigger(seconds=every),
        args=[source_id],
        id=job_id,
        replace_existing=True,
        next_run_time=_now_plus(random.uniform(0, 1)),
    )


def plan_next(
    scheduler: AsyncIOScheduler, job_id: str, due: datetime | None, now: datetime | None = None
) -> datetime | None:
    """Move job ``job_id``'s next run to ``due`` (the source's ``next_poll_at``); a due
    time already past (the source is leased elsewhere) gets a look in SOURCE_RECHECK_S,
    and none is further than SOURCE_CHECK_MAX_S away. Returns the time set."""
    job = scheduler.get_job(job_id)
    if job is None or due is None:
        return None
    now = now or datetime.now(UTC)
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    when = due if due > now else now + timedelta(seconds=SOURCE_RECHECK_S)
    when = min(when, now + timedelta(seconds=SOURCE_CHECK_MAX_S))
    job.modify(next_run_time=when)
    return when


def sync_source_jobs(scheduler: AsyncIOScheduler, service: Service, inflight: InFlight) -> None:
    """Add jobs for new sources (e.g. added from chat), drop those of removed ones."""
    wanted = dict(service.source_ids())
    existing = {
        int(job.id.split(":", 1)[1]) for job in scheduler.get_jobs() if job.id.startswith("source:")
    }
    for source_id in wanted.keys() - existing:
        schedule_source(scheduler, service, inflight, source_id, wanted[source_id])
    for source_id in existing - wanted.keys():
        scheduler.remove_job(f"source:{source_id}")


def schedule_all(
    scheduler: AsyncIOScheduler,
    service: Service,
    inflight: InFlight,
    digests: DigestJob | None = None,
) -> None:
    """Every job. ``digests``: the digest job; default, the one ``handlers/`` registered
    (``bot/`` cannot import the renderer; see ``bot.answers.digests``)."""
    sync_source_jobs(scheduler, service, inflight)
    service.polling = True  # a source added from chat is scheduled within SYNC_SOURCES_S

    async def sync() -> None:
        await asyncio.to_thread(service.source_ids)  # touch the database off the loop
        sync_source_jobs(scheduler, service, inflight)

    scheduler.add_job(inflight.wrap(sync), "interval", seconds=SYNC_SOURCES_S, id="sources")
    # the sender runs for the whole life of the scheduler: woken by new outbox rows, and
    # every OUTBOX_DRAIN_S seconds anyway (bot.runtime.delivery.Sender)
    scheduler.add_job(
        inflight.wrap(service.run_sender), "date", run_date=_now_plus(0.1), id="outbox"
    )
    # redis-stream sources: each replica one consumer of the group, for the whole run
    scheduler.add_job(
        inflight.wrap(service.run_streams), "date", run_date=_now_plus(0.1), id="streams"
    )
    scheduler.add_job(
        inflight.wrap(service.reload_watchlists), "interval", seconds=WATCHLISTS_S, id="watchlists"
    )
    scheduler.add_job(
        inflight.wrap(service.retention),
        "interval",
        seconds=RETENTION_S,
        id="retention",
        next_run_time=_now_plus(60),
    )
    schedule_digests(scheduler, service, inflight, digests or digest_job())
    schedule_learning(scheduler, service, inflight)


def schedule_digests(
    scheduler: AsyncIOScheduler, service: Service, inflight: InFlight, job: DigestJob | None
) -> None:
    """Every minute: send the hourly and daily digests whose period just ended."""
    if job is None:
        log.warning("no digest job registered: hourly and daily digests are not sent")
        return
    send = job

    async def digests() -> None:
        await send(service, datetime.now(UTC))

    scheduler.add_job(
        inflight.wrap(digests), CronTrigger(second=DIGEST_SECOND, timezone=UTC), id="digests"
    )
