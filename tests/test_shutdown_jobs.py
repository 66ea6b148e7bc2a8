"""Jobs still running when ``alertbot run`` stops end with one line, not a traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.runtime.scheduler import InFlight, make_scheduler


async def _slow() -> None:
    await asyncio.sleep(30)


async def test_a_job_cancelled_at_shutdown_ends_with_one_line_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    inflight = InFlight()
    scheduler = make_scheduler()
    started = asyncio.Event()

    async def poll_source() -> None:
        started.set()
        await _slow()

    scheduler.add_job(inflight.wrap(poll_source), "date", id="source:1")
    scheduler.start()
    await asyncio.wait_for(started.wait(), 5)
    scheduler.pause()
    await inflight.wait(timeout=0.2)
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0.05)
    assert not inflight.tasks
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    stopped = [
        r.getMessage() for r in caplog.records if "still running at shutdown" in r.getMessage()
    ]
    assert stopped == ["job poll_source was still running at shutdown: stopped"]


async def test_a_job_task_created_just_before_shutdown_is_waited_for() -> None:
    inflight = InFlight()
    done: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        done.append("quick")

    task = asyncio.create_task(inflight.wrap(quick)())  # not yet run a step
    await inflight.wait(timeout=5)
    assert task.done() and done == ["quick"]


async def test_a_job_cancelled_outside_shutdown_is_still_cancelled() -> None:
    inflight = InFlight()
    task = asyncio.create_task(inflight.wrap(_slow)())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
