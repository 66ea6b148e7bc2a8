"""The outbox: claims, leases, retries; concurrent senders never share a row."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bot.store.db import SessionFactory
from bot.store.outbox import (
    claim_deliveries,
    enqueue_deliveries,
    fail_exhausted,
    mark_failed,
    mark_sent,
)
from bot.store.subscriptions import subscribe, upsert_chat
from bot.store.tables import Alert, Delivery, Story

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def make_outbox(db: SessionFactory, n: int, watchlist: str = "wl") -> list[int]:
    """``n`` pending deliveries of one alert (one per subscribed chat)."""
    with db.begin() as s:
        for i in range(n):
            chat = upsert_chat(s, "telegram", f"telegram:{i}")
            subscribe(s, chat.id, watchlist)
        story = Story(title="t", created_at=NOW, updated_at=NOW)
        s.add(story)
        s.flush()
        alert = Alert(story_id=story.id, watchlist=watchlist, score=0.9, created_at=NOW)
        s.add(alert)
        s.flush()
        return enqueue_deliveries(s, alert.id, watchlist, NOW)


def statuses(db: SessionFactory) -> dict[int, tuple[str, int, str | None]]:
    with db() as s:
        rows = s.scalars(select(Delivery).order_by(Delivery.id)).all()
        return {d.id: (d.status, d.attempts, d.claimed_by) for d in rows}


def test_claim_leases_due_rows_to_one_worker(db: SessionFactory) -> None:
    ids = make_outbox(db, 3)
    with db.begin() as s:
        claimed = claim_deliveries(s, "w1", limit=2, lease_s=60, now=NOW)
        assert [d.id for d in claimed] == ids[:2]
        assert all(d.status == "sending" and d.claimed_by == "w1" for d in claimed)
        assert all(d.attempts == 1 for d in claimed)
        assert all(d.claimed_until == NOW + timedelta(seconds=60) for d in claimed)
        assert claimed[0].subscription.chat.chat_key == "telegram:0"
    with db.begin() as s:
        assert [d.id for d in claim_deliveries(s, "w2", limit=5, now=NOW)] == ids[2:]
        assert claim_deliveries(s, "w3", now=NOW + timedelta(seconds=59)) == []


def test_sent_rows_are_never_claimed_again(db: SessionFactory) -> None:
    [delivery_id] = make_outbox(db, 1)
    with db.begin() as s:
        [d] = claim_deliveries(s, "w1", now=NOW)
    with db.begin() as s:
        assert mark_sent(s, d.id, message_ref="tg:991", now=NOW + timedelta(seconds=1))
        assert not mark_sent(s, d.id)  # already final
    with db.begin() as s:
        assert claim_deliveries(s, "w2", now=NOW + timedelta(days=1)) == []
        row = s.get_one(Delivery, delivery_id)
        assert (row.status, row.message_ref, row.claimed_until) == ("sent", "tg:991", None)
        assert row.sent_at == NOW + timedelta(seconds=1)


def test_an_expired_lease_is_claimed_again(db: SessionFactory) -> None:
    [delivery_id] = make_outbox(db, 1)
    with db.begin() as s:
        claim_deliveries(s, "dead-worker", lease_s=30, now=NOW)
    with db.begin() as s:
        assert claim_deliveries(s, "w2", now=NOW + timedelta(seconds=29)) == []
    with db.begin() as s:
        [d] = claim_deliveries(s, "w2", lease_s=30, now=NOW + timedelta(seconds=31))
        assert d.id == delivery_id and d.claimed_by == "w2" and d.attempts == 2
    with db.begin() as s:  # the first worker wakes up: it no longer holds the row
        assert not mark_failed(s, delivery_id, "dead-worker", "timeout", NOW)
        assert mark_sent(s, delivery_id)  # but a message that went out is recorded as sent
    assert statuses(db)[delivery_id][0] == "sent"


def test_failed_send_is_retried_at_the_given_time(db: SessionFactory) -> None:
    [delivery_id] = make_outbox(db, 1)
    retry_at = NOW + timedelta(minutes=5)
    with db.begin() as s:
        claim_deliveries(s, "w1", now=NOW)
    with db.begin() as s:
        assert mark_failed(s, delivery_id, "w1", "RetryAfter: 300", retry_at)
    with db.begin() as s:
        assert claim_deliveries(s, "w1", now=retry_at - timedelta(seconds=1)) == []
        [d] = claim_deliveries(s, "w1", now=retry_at)
        assert d.attempts == 2 and d.last_error == "RetryAfter: 300"


def test_permanent_failure_is_final(db: SessionFactory) -> None:
    [delivery_id] = make_outbox(db, 1)
    with db.begin() as s:
        claim_deliveries(s, "w1", now=NOW)
    with db.begin() as s:
        assert mark_failed(s, delivery_id, "w1", "Forbidden: bot was blocked by the user")
    with db.begin() as s:
        assert claim_deliveries(s, "w1", now=NOW + timedelta(days=1)) == []
    assert statuses(db)[delivery_id] == ("failed", 1, "w1")


def test_rows_out_of_attempts_are_given_up(db: SessionFactory) -> None:
    [delivery_id] = make_outbox(db, 1)
    moment = NOW
    for _ in range(3):
        with db.begin() as s:
            [d] = claim_deliveries(s, "w1", lease_s=10, now=moment, max_attempts=3)
        moment += timedelta(seconds=11)  # the lease runs out each time
    with db.begin() as s:
        assert claim_deliveries(s, "w1", now=moment, max_attempts=3) == []
        assert fail_exhausted(s, now=moment, max_attempts=3) == 1
    assert statuses(db)[delivery_id] == ("failed", 3, "w1")
    assert d.id == delivery_id


def test_enqueue_twice_keeps_one_row_per_subscription_and_alert(db: SessionFactory) -> None:
    ids = make_outbox(db, 2)
    with db.begin() as s:
        alert_id = s.get_one(Delivery, ids[0]).alert_id
        assert enqueue_deliveries(s, alert_id, "wl", NOW) == []
    assert len(statuses(db)) == 2


def test_concurrent_workers_never_get_the_same_delivery(db: SessionFactory) -> None:
    ids = make_outbox(db, 60)
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        mine: list[int] = []
        try:
            start.wait(10)
            while True:
                with db.begin() as s:
                    batch = claim_deliveries(s, name, limit=4, lease_s=600, now=NOW)
                if not batch:
                    break
                mine.extend(d.id for d in batch)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        claimed[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    every = [i for batch in claimed.values() for i in batch]
    assert sorted(every) == ids  # all claimed, none twice
    assert {owner for _, _, owner in statuses(db).values()} <= set(claimed)


def test_postgres_claims_skip_rows_locked_by_another_worker(
    engine: Engine, db: SessionFactory
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    ids = make_outbox(db, 6)
    with db() as first, db() as second:
        a = claim_deliveries(first, "w1", limit=4, now=NOW)  # not committed: rows locked
        b = claim_deliveries(second, "w2", limit=4, now=NOW)  # does not wait for them
        assert [d.id for d in a] == ids[:4]
        assert [d.id for d in b] == ids[4:]
        second.commit()
        first.rollback()  # w1 crashed before committing: its rows are free again
    with db.begin() as s:
        assert [d.id for d in claim_deliveries(s, "w3", now=NOW)] == ids[:4]
