"""A folder source remembers what it read: a poll of an unchanged folder lists nothing and
reads nothing; a source's job runs when the source is due, not at the next check after."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

import bot.ingest.poll as poll_module
from bot.config import Settings
from bot.ingest.poll import SourceState, next_state, poll
from bot.runtime.scheduler import InFlight, make_scheduler, schedule_source
from bot.runtime.service import Service

ROOT = Path(__file__).resolve().parent.parent
PAST_NS = 10 * 10**9  # folders dated 10 s back: settled, so their listing is remembered


def settle(folder: Path) -> None:
    stamp = time.time_ns() - PAST_NS
    os.utime(folder, ns=(stamp, stamp))


class Spy:
    """Counts the folders listed and the files read by polls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.listed: list[str] = []
        self.read: list[str] = []
        scandir, read_file = os.scandir, poll_module._read_file

        def listing(path: str) -> object:
            self.listed.append(str(path))
            return scandir(path)

        def reading(path: str, size: int, max_bytes: int, name: str = "") -> object:
            self.read.append(path)
            return read_file(path, size, max_bytes, name)

        monkeypatch.setattr(poll_module.os, "scandir", listing)
        monkeypatch.setattr(poll_module, "_read_file", reading)

    def clear(self) -> None:
        self.listed.clear()
        self.read.clear()


async def run(state: SourceState) -> poll_module.PollOutcome:
    return await poll(state, client=None, limiter=poll_module.HostLimiter())  # type: ignore[arg-type]


async def test_a_second_poll_lists_and_reads_no_unchanged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "desk").mkdir(parents=True)
    for n in range(5):
        (inbox / f"{n}.txt").write_text(f"Report {n}\nText {n}.\n")
    (inbox / "desk" / "d.txt").write_text("Desk note\nText.\n")
    settle(inbox / "desk")
    settle(inbox)
    spy = Spy(monkeypatch)
    state = SourceState(kind="folder", path=str(inbox))
    first = await run(state)
    assert [a.title for a in first.articles] == [f"Report {n}" for n in range(5)] + ["Desk note"]
    assert len(spy.read) == 6
    state = next_state(state, first)

    spy.clear()
    again = await run(state)
    assert again.error is None and again.articles == []
    assert spy.read == [] and spy.listed == []  # neither listed nor read
    state = next_state(state, again)

    # a file changed in place (its folder's mtime unchanged) is still noticed and read
    (inbox / "2.txt").write_text("Report 2, updated\nMore text.\n")
    spy.clear()
    changed = await run(state)
    assert [a.title for a in changed.articles] == ["Report 2, updated"]
    assert spy.read == [str(inbox / "2.txt")] and spy.listed == []
    state = next_state(state, changed)

    # a new file changes the folder: that folder alone is listed again, the new file read
    (inbox / "desk" / "e.txt").write_text("Second note\nText.\n")
    spy.clear()
    added = await run(state)
    assert [a.title for a in added.articles] == ["Second note"]
    assert spy.listed == [str(inbox / "desk")]
    assert spy.read == [str(inbox / "desk" / "e.txt")]


async def test_a_30s_source_is_next_run_30s_after_its_poll(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_text("Report\nText.\n")
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - name: inbox\n    path: {inbox}\n    interval: 30s\n")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        sources=sources,
        watchlist_dir=ROOT / "watchlists",
    )
    service = Service(settings, worker="clock")
    scheduler: AsyncIOScheduler = make_scheduler()
    scheduler.start(paused=True)  # the test runs the job itself
    try:
        service.sync_sources()
        ((source_id, interval),) = service.source_ids()
        schedule_source(scheduler, service, InFlight(), source_id, interval)
        job = scheduler.get_job(f"source:{source_id}")
        before = datetime.now(UTC)
        await job.func(*job.args)  # the poll
        after = datetime.now(UTC)
        job = scheduler.get_job(f"source:{source_id}")
        due = service.next_poll_at(source_id)
        assert due is not None
        assert job.next_run_time == (due.replace(tzinfo=UTC) if due.tzinfo is None else due)
        # 30 s ± the 10 % jitter after the poll: never the next check after it (60 s)
        assert before + timedelta(seconds=27) <= job.next_run_time
        assert job.next_run_time <= after + timedelta(seconds=33)
    finally:
        scheduler.shutdown(wait=False)
        await service.close()
