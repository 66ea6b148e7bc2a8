"""The outbox: deliveries of alerts to subscriptions, claimed by senders.

A sender claims rows (a lease: ``claimed_by``/``claimed_until``), commits,
sends, then marks each row sent or failed. A sender that dies mid-way leaves
its rows ``sending`` until the lease expires; another sender then claims them
again. So a message may be repeated (crash between send and mark), never
lost. On PostgreSQL the claim is ``UPDATE … WHERE id IN (SELECT … FOR UPDATE
SKIP LOCKED)``, so concurrent senders never wait for or get each other's
rows; on SQLite the single ``UPDATE`` statement is atomic (one writer at a
time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from bot.store._sql import dialect_insert, table_of
from bot.store.tables import Chat, Delivery, Subscription, utcnow

MAX_ATTEMPTS = 8


def instant_and_active(now: datetime) -> list[ColumnElement[bool]]:
    """The conditions of a subscription that gets an alert pushed at once: mode
    ``instant``, not paused, not muted at ``now``, in an allowed chat (join Chat)."""
    return [
        Subscription.mode == "instant",
        Subscription.paused_reason.is_(None),
        or_(Subscription.muted_until.is_(None), Subscription.muted_until <= now),
        Chat.allowed.is_(True),
    ]


def pending_delivery(subscription_id: int, alert_id: int, now: datetime) -> dict[str, Any]:
    """The values of a new outbox row: pending, never tried, due at ``now``."""
    return {
        "subscription_id": subscription_id,
        "alert_id": alert_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def enqueue_deliveries(
    session: Session, alert_id: int, watchlist: str, now: datetime | None = None
) -> list[int]:
    """One pending delivery per active instant subscription of ``watchlist``.

    Active: mode ``instant``, not paused, not muted at ``now``, in an allowed
    chat. (Digest subscriptions read alerts per period instead.) Returns the
    ids of the rows created; an existing (subscription, alert) row is kept.
    """
    now = now or utcnow()
    sub_ids = session.scalars(
        select(Subscription.id)
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Subscription.watchlist == watchlist, *instant_and_active(now))
        .order_by(Subscription.id)
    ).all()
    if not sub_ids:
        return []
    rows = [pending_delivery(sub_id, alert_id, now) for sub_id in sub_ids]
    stmt = dialect_insert(session, Delivery).values(rows).on_conflict_do_nothing()
    created = list(session.execute(stmt.returning(table_of(Delivery).c.id)).scalars())
    if created:
        notify_outbox(session)
    return created


# The channel of the outbox's NOTIFY: one per schema, so two deployments (or two test
# schemas) sharing a PostgreSQL database do not wake each other. LISTEN takes the same
# expression on its own connection (bot.store.notify); 63 bytes is PostgreSQL's limit.
OUTBOX_CHANNEL_SQL = "left('alertbot_outbox:' || current_schema(), 63)"


def notify_outbox(session: Session) -> None:
    """On PostgreSQL, ``NOTIFY`` the senders of every replica: delivered when (and only if)
    this transaction commits, so a woken sender finds the rows. SQLite has no other
    process to wake (the in-process sender is woken by the service)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_notify({OUTBOX_CHANNEL_SQL}, '')"))


def claimable(now: datetime, max_attempts: int = MAX_ATTEMPTS) -> ColumnElement[bool]:
    """The condition of a row a sender may claim at ``now``: due, or its lease expired."""
    return and_(
        Delivery.attempts < max_attempts,
        or_(
            and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
            and_(Delivery.status == "sending", Delivery.claimed_until < now),
        ),
    )


def claim_deliveries(
    session: Session,
    worker: str,
    limit: int = 20,
    lease_s: float = 60,
    now: datetime | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries for ``worker`` for ``lease_s`` seconds.

    Oldest due first. Each claim counts as an attempt. Commit right after
    claiming (the lease is what keeps other senders away; on PostgreSQL the
    row locks also do until then).
    """
    now = now or utcnow()
    due = (
        select(Delivery.id)
        .where(claimable(now, max_attempts))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders nothing
    )
    return _claim(session, due, worker, now, lease_s)


def _claim(
    session: Session, due: Select[Any], worker: str, now: datetime, lease_s: float
) -> list[Delivery]:
    """Mark the rows ``due`` selects as this worker's until the lease ends; oldest first."""
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(due))
        .values(
            status="sending",
            claimed_by=worker,
            claimed_until=now + timedelta(seconds=lease_s),
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    claimed = list(session.scalars(stmt))
    claimed.sort(key=lambda d: (d.next_attempt_at, d.id))
    return claimed


def due_chats(
    session: Session, now: datetime | None = None, limit: int = 1000
) -> list[tuple[int, str, str, int]]:
    """``(chat id, platform, chat key, claimable rows)`` of the chats with something to
    send, the chat with the oldest due row first (a sender gives each chat a lane)."""
    now = now or utcnow()
    rows = session.execute(
        select(Chat.id, Chat.platform, Chat.chat_key, func.count(Delivery.id))
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(claimable(now))
        .group_by(Chat.id, Chat.platform, Chat.chat_key)
        .order_by(func.min(Delivery.next_attempt_at), Chat.id)
        .limit(limit)
    ).all()
    return [(int(i), str(p), str(k), int(n)) for i, p, k, n in rows]


def due_count(session: Session, chat_id: int, now: datetime | None = None) -> int:
    """How many of the chat's rows are claimable at ``now``."""
    subs = select(Subscription.id).where(Subscription.chat_id == chat_id)
    return int(
        session.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.subscription_id.in_(subs), claimable(now or utcnow())
            )
        )
        or 0
    )


def claim_chat_deliveries(
    session: Session,
    worker: str,
    chat_id: int,
    limit: int,
    lease_s: float = 60,
    now: datetime | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[Delivery]:
    """:func:`claim_deliveries` for one chat's rows only (oldest due first): the chat's
    backlog in one claim, so the sender can tell a flood from a trickle and fold it."""
    now = now or utcnow()
    due = (
        select(Delivery.id)
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .where(Subscription.chat_id == chat_id, claimable(now, max_attempts))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(of=table_of(Delivery), skip_locked=True)
    )
    return _claim(session, due, worker, now, lease_s)


def release_claims_of(session: Session, workers: list[str]) -> int:
    """Free the rows ``workers`` held as ``sending`` (they are known dead): pending, due
    now. The claim's attempt stays counted: the message may have gone out before the
    crash (the one repeat the outbox allows)."""
    if not workers:
        return 0
    done = session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_by.in_(workers))
        .values(status="pending", claimed_by=None, claimed_until=None, next_attempt_at=utcnow())
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(done)


def claim_holders(session: Session) -> list[str]:
    """The workers holding ``sending`` rows now."""
    return [
        w
        for w in session.scalars(
            select(Delivery.claimed_by).where(Delivery.status == "sending").distinct()
        ).all()
        if w
    ]


def postpone_chat(session: Session, chat_id: int, until: datetime) -> int:
    """Make the chat's pending rows due no sooner than ``until`` (it asked the bot to wait:
    a 429 / RetryAfter), so its lane does not knock again at once; returns how many."""
    subs = select(Subscription.id).where(Subscription.chat_id == chat_id)
    done = session.execute(
        update(Delivery)
        .where(
            Delivery.subscription_id.in_(subs),
            Delivery.status == "pending",
            Delivery.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(done)


def mark_sent(
    session: Session,
    delivery_id: int,
    message_ref: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record that the message went out (whoever holds the lease now); False if already final."""
    done = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status.in_(("pending", "sending")))
        .values(
            status="sent",
            sent_at=now or utcnow(),
            message_ref=message_ref,
            claimed_until=None,
            last_error=None,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    return done is not None


def mark_failed(
    session: Session,
    delivery_id: int,
    worker: str,
    error: str,
    retry_at: datetime | None = None,
) -> bool:
    """Record a failed send by ``worker``: retry at ``retry_at``, or give up when None.

    Only the worker holding the claim may do so (False otherwise, e.g. when
    its lease expired and another sender took the row over).
    """
    values: dict[str, object] = {"last_error": error[:2000], "claimed_until": None}
    if retry_at is None:
        values["status"] = "failed"
    else:
        values.update(status="pending", next_attempt_at=retry_at, claimed_by=None)
    done = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == "sending",
            Delivery.claimed_by == worker,
        )
        .values(**values)
        .returning(Delivery.id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    return done is not None


def fail_exhausted(
    session: Session, now: datetime | None = None, max_attempts: int = MAX_ATTEMPTS
) -> int:
    """Give up on deliveries that used every attempt and are not in flight; returns how many."""
    now = now or utcnow()
    ids = session.scalars(
        update(Delivery)
        .where(
            Delivery.attempts >= max_attempts,
            or_(
                Delivery.status == "pending",
                and_(Delivery.status == "sending", Delivery.claimed_until < now),
            ),
        )
        .values(status="failed", claimed_until=None, last_error="gave up: too many attempts")
        .returning(Delivery.id)
        .execution_options(synchronize_session="fetch")
    ).all()
    return len(ids)


def deliveries_for_alert(session: Session, alert_id: int) -> list[Delivery]:
    return list(
        session.scalars(select(Delivery).where(Delivery.alert_id == alert_id).order_by(Delivery.id))
    )
