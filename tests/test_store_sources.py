"""Sources: each due poll is claimed by one worker; success and failure reschedule it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from bot.store.db import SessionFactory
from bot.store.sources import (
    MAX_BACKOFF,
    add_source,
    backoff,
    claim_due_sources,
    get_source,
    list_sources,
    record_poll_failure,
    record_poll_success,
    remove_source,
    set_source_enabled,
    upsert_source,
)
from bot.store.tables import Source

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def add(db: SessionFactory, n: int, interval_s: int = 600) -> list[int]:
    with db.begin() as s:
        return [
            add_source(s, f"feed {i}", f"https://f{i}.example/rss", "rss", interval_s, now=NOW).id
            for i in range(n)
        ]


def test_add_get_list_remove(db: SessionFactory) -> None:
    [a, b] = add(db, 2)
    with db.begin() as s:
        assert get_source(s, a) is not None
        found = get_source(s, "https://f1.example/rss")
        assert found is not None and found.id == b
        assert get_source(s, "feed 0") is not None
        assert set_source_enabled(s, b, False)
        assert [x.id for x in list_sources(s)] == [a, b]
        assert [x.id for x in list_sources(s, enabled_only=True)] == [a]
        assert remove_source(s, a) and not remove_source(s, a)
    with pytest.raises(IntegrityError), db.begin() as s:
        add_source(s, "again", "https://f1.example/rss", "rss")


def test_upsert_source_updates_the_declaration_and_keeps_state(db: SessionFactory) -> None:
    with db.begin() as s:
        src, created = upsert_source(s, "desk", "https://a.example/rss", "feed", 900, now=NOW)
        assert created
        src.etag, src.consecutive_failures = '"v1"', 2
        later = NOW + timedelta(hours=1)
        same, created = upsert_source(
            s, "desk", "https://a.example/rss", "feed", 300, True, now=later
        )
        assert not created and same.id == src.id
        assert (same.interval_s, same.fetch_full, same.etag, same.next_poll_at) == (
            300,
            True,
            '"v1"',
            NOW,
        )
        moved, _ = upsert_source(s, "desk", "https://b.example/rss", "feed", 300, now=later)
        assert (moved.url_or_path, moved.etag, moved.next_poll_at) == (
            "https://b.example/rss",
            None,
            later,
        )
        assert moved.consecutive_failures == 2


def test_new_sources_are_due_at_once_and_leased_to_one_worker(db: SessionFactory) -> None:
    ids = add(db, 3)
    with db.begin() as s:
        claimed = claim_due_sources(s, "w1", NOW, lease_s=120, limit=2)
        assert [x.id for x in claimed] == ids[:2]
        assert all(x.lease_owner == "w1" for x in claimed)
        assert claimed[0].lease_until == NOW + timedelta(seconds=120)
    with db.begin() as s:
        assert [x.id for x in claim_due_sources(s, "w2", NOW)] == ids[2:]
        assert claim_due_sources(s, "w3", NOW + timedelta(seconds=60)) == []


def test_success_schedules_the_next_poll_and_keeps_validators(db: SessionFactory) -> None:
    [sid] = add(db, 1, interval_s=600)
    with db.begin() as s:
        claim_due_sources(s, "w1", NOW)
    done_at = NOW + timedelta(seconds=5)
    with db.begin() as s:
        assert record_poll_success(s, sid, "w1", done_at, etag='"abc"', last_modified="Tue, 10 Mar")
    with db.begin() as s:
        src = s.get_one(Source, sid)
        assert src.next_poll_at == done_at + timedelta(seconds=600)
        assert (src.etag, src.last_modified, src.last_success_at) == (
            '"abc"',
            "Tue, 10 Mar",
            done_at,
        )
        assert (src.lease_owner, src.lease_until, src.consecutive_failures) == (None, None, 0)
        assert claim_due_sources(s, "w2", done_at + timedelta(seconds=599)) == []
        assert [x.id for x in claim_due_sources(s, "w2", done_at + timedelta(seconds=600))] == [sid]


def test_failures_back_off_and_success_resets(db: SessionFactory) -> None:
    [sid] = add(db, 1, interval_s=600)
    moment = NOW
    expected = [600, 1200, 2400]
    for delay in expected:
        with db.begin() as s:
            [src] = claim_due_sources(s, "w1", moment)
        with db.begin() as s:
            next_poll = record_poll_failure(s, sid, "w1", "HTTP 503", moment)
        assert next_poll == moment + timedelta(seconds=delay)
        moment = next_poll
    with db.begin() as s:
        src = s.get_one(Source, sid)
        assert src.consecutive_failures == 3 and src.last_error == "HTTP 503"
        assert src.last_error_at is not None
        claim_due_sources(s, "w1", moment)
    with db.begin() as s:
        record_poll_failure(s, sid, "w1", "429", moment, retry_at=moment + timedelta(seconds=30))
        assert s.get_one(Source, sid).next_poll_at == moment + timedelta(seconds=30)
        claim_due_sources(s, "w1", moment + timedelta(seconds=30))
        assert record_poll_success(s, sid, "w1", moment)
        assert s.get_one(Source, sid).consecutive_failures == 0


def test_backoff_is_capped() -> None:
    assert backoff(600, 1) == timedelta(seconds=600)
    assert backoff(600, 50) == MAX_BACKOFF


def test_a_worker_that_lost_its_lease_records_nothing(db: SessionFactory) -> None:
    [sid] = add(db, 1)
    with db.begin() as s:
        claim_due_sources(s, "slow", NOW, lease_s=60)
    with db.begin() as s:
        [src] = claim_due_sources(s, "w2", NOW + timedelta(seconds=61), lease_s=60)
        assert src.lease_owner == "w2"
    with db.begin() as s:
        assert not record_poll_success(s, sid, "slow", NOW + timedelta(seconds=62))
        assert record_poll_failure(s, sid, "slow", "x", NOW + timedelta(seconds=62)) is None
        assert s.get_one(Source, sid).lease_owner == "w2"


def test_disabled_sources_are_not_claimed(db: SessionFactory) -> None:
    [sid] = add(db, 1)
    with db.begin() as s:
        set_source_enabled(s, sid, False)
        assert claim_due_sources(s, "w1", NOW) == []


def test_concurrent_workers_never_poll_the_same_source(db: SessionFactory) -> None:
    ids = add(db, 30)
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(3)

    def worker(name: str) -> None:
        mine: list[int] = []
        start.wait(10)
        while True:
            with db.begin() as s:
                batch = claim_due_sources(s, name, NOW, lease_s=600, limit=3)
            if not batch:
                break
            mine.extend(x.id for x in batch)
        claimed[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(i for batch in claimed.values() for i in batch) == ids


def test_postgres_source_claims_skip_locked_rows(engine: Engine, db: SessionFactory) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    ids = add(db, 4)
    with db() as first, db() as second:
        a = claim_due_sources(first, "w1", NOW, limit=2)
        b = claim_due_sources(second, "w2", NOW, limit=10)
        assert [x.id for x in a] == ids[:2] and [x.id for x in b] == ids[2:]
        first.commit()
        second.commit()
