"""Sources and their polling: claim the due ones, record success or failure.

Each replica's scheduler calls ``claim_due_sources`` every few seconds; a
claimed source is leased to that worker (``lease_owner``/``lease_until``) so
no other replica polls it at the same time. On PostgreSQL the claim skips
rows another worker is claiming (``FOR UPDATE SKIP LOCKED``); on SQLite the
single ``UPDATE`` is atomic. A worker that dies leaves a lease that expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from bot.store._sql import dialect_insert, table_of
from bot.store.tables import Source, utcnow

MAX_BACKOFF = timedelta(hours=6)
FROM_FILE = "file"  # declared in sources.yaml: the operator's own, trusted with private URLs
FROM_CHAT = "chat"  # added from a chat: fetched through the SSRF guard (the default)


def add_source(
    session: Session,
    name: str,
    url_or_path: str,
    kind: str,
    interval_s: int = 900,
    fetch_full: bool = False,
    enabled: bool = True,
    now: datetime | None = None,
    origin: str = FROM_CHAT,
) -> Source:
    """A new source, due for its first poll at once (IntegrityError if name or URL exist).

    ``origin`` says who declared it (:data:`FROM_CHAT` unless told otherwise: a
    caller that forgets gets the guarded side).
    """
    now = now or utcnow()
    source = Source(
        origin=origin,
        name=name,
        url_or_path=url_or_path,
        kind=kind,
        interval_s=interval_s,
        fetch_full=fetch_full,
        enabled=enabled,
        next_poll_at=now,
        created_at=now,
        consecutive_failures=0,
    )
    session.add(source)
    session.flush()
    return source


def upsert_source(
    session: Session,
    name: str,
    url_or_path: str,
    kind: str,
    interval_s: int = 900,
    fetch_full: bool = False,
    enabled: bool = True,
    now: datetime | None = None,
    origin: str = FROM_CHAT,
) -> tuple[Source, bool]:
    """Create the source ``name``, or update its declaration (e.g. from ``sources.yaml``).

    Polling state (validators, failures, next poll) is kept, except that a
    changed URL or kind forgets the validators and makes the source due now.
    The declaration's ``origin`` replaces the stored one (a name that
    ``sources.yaml`` now declares is the file's). Returns the source and
    whether it is new.
    """
    source = session.scalars(select(Source).where(Source.name == name)).one_or_none()
    if source is None:
        # INSERT … ON CONFLICT (name) DO NOTHING: replicas seeding sources.yaml at the
        # same moment both succeed; the one that did not insert updates the row below
        # (PostgreSQL makes it wait for the other's commit, then sees the row).
        stamp = now or utcnow()
        stmt = (
            dialect_insert(session, Source)
            .values(
                origin=origin,
                name=name,
                url_or_path=url_or_path,
                kind=kind,
                interval_s=interval_s,
                fetch_full=fetch_full,
                enabled=enabled,
                next_poll_at=stamp,
                created_at=stamp,
                consecutive_failures=0,
                seen_files={},
            )
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(table_of(Source).c.id)
        )
        new_id = session.execute(stmt).scalar_one_or_none()
        if new_id is not None:
            created = session.get(Source, new_id)
            assert created is not None
            return created, True
        source = session.scalars(select(Source).where(Source.name == name)).one()
    if (source.url_or_path, source.kind) != (url_or_path, kind):
        source.url_or_path, source.kind = url_or_path, kind
        source.etag = source.last_modified = None
        source.next_poll_at = now or utcnow()
    source.interval_s, source.fetch_full, source.enabled = interval_s, fetch_full, enabled
    source.origin = origin
    session.flush()
    return source, False


def get_source(session: Session, ref: int | str) -> Source | None:
    """A source by id, or by name or URL."""
    if isinstance(ref, int):
        return session.get(Source, ref)
    return session.scalars(
        select(Source).where(or_(Source.name == ref, Source.url_or_path == ref))
    ).first()


def list_sources(session: Session, enabled_only: bool = False) -> list[Source]:
    stmt = select(Source).order_by(Source.id)
    if enabled_only:
        stmt = stmt.where(Source.enabled.is_(True))
    return list(session.scalars(stmt))


def remove_source(session: Session, source_id: int) -> bool:
    """Delete a source (its articles stay, without a source id); False if unknown."""
    gone = session.execute(
        delete(Source).where(Source.id == source_id).returning(Source.id)
    ).scalar_one_or_none()
    return gone is not None


def set_source_enabled(session: Session, source_id: int, enabled: bool) -> bool:
    done = session.execute(
        update(Source)
        .where(Source.id == source_id)
        .values(enabled=enabled)
        .returning(Source.id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    return done is not None


def claim_due_sources(
    session: Session,
    worker: str,
    now: datetime | None = None,
    lease_s: float = 300,
    limit: int = 50,
) -> list[Source]:
    """Lease the enabled sources due at ``now`` (and not leased) to ``worker``.

    Most overdue first. Commit right after claiming.
    """
    now = now or utcnow()
    due = (
        select(Source.id)
        .where(
            Source.enabled.is_(True),
            Source.next_poll_at <= now,
            or_(Source.lease_until.is_(None), Source.lease_until < now),
        )
        .order_by(Source.next_poll_at, Source.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders nothing
    )
    stmt = (
        update(Source)
        .where(Source.id.in_(due))
        .values(lease_owner=worker, lease_until=now + timedelta(seconds=lease_s))
        .returning(Source)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    claimed = list(session.scalars(stmt))
    claimed.sort(key=lambda s: (s.next_poll_at, s.id))
    return claimed


def claim_source(
    session: Session,
    source_id: int,
    worker: str,
    now: datetime | None = None,
    lease_s: float = 300,
) -> Source | None:
    """Lease one source to ``worker`` if it is enabled, due and not leased; else None.

    What each replica's per-source job calls: of several replicas, one gets
    the lease and polls; the others find it taken. Commit right after.
    """
    now = now or utcnow()
    stmt = (
        update(Source)
        .where(
            Source.id == source_id,
            Source.enabled.is_(True),
            Source.next_poll_at <= now,
            or_(Source.lease_until.is_(None), Source.lease_until < now),
        )
        .values(lease_owner=worker, lease_until=now + timedelta(seconds=lease_s))
        .returning(Source)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return session.scalars(stmt).one_or_none()


def make_all_due(session: Session, now: datetime | None = None) -> int:
    """Make every enabled source due now and free its lease (``alertbot run --once``,
    an operator's explicit "poll now"); returns how many."""
    ids = session.scalars(
        update(Source)
        .where(Source.enabled.is_(True))
        .values(next_poll_at=now or utcnow(), lease_owner=None, lease_until=None)
        .returning(Source.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(ids)


def _held_by(worker: str) -> ColumnElement[bool]:
    return or_(Source.lease_owner == worker, Source.lease_owner.is_(None))


def record_poll_success(
    session: Session,
    source_id: int,
    worker: str,
    now: datetime | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    *,
    next_poll_at: datetime | None = None,
    seen_files: dict[str, Any] | None = None,
    seen_dirs: dict[str, Any] | None = None,
    problem: str | None = None,
    kind: str | None = None,
) -> bool:
    """A successful poll: lease released, failures reset, poller state kept.

    ``etag``/``last_modified`` are the validators of the response (for the
    next conditional GET); ``next_poll_at`` defaults to ``now + interval``;
    ``seen_files``, ``seen_dirs`` and ``problem`` are the poller's state (None: keep
    what is stored); ``kind`` replaces
    ``auto`` once the first fetch told what the source is. False when
    ``worker`` no longer holds the lease.
    """
    now = now or utcnow()
    source = session.get(Source, source_id)
    if source is None:
        return False
    values: dict[str, Any] = {
        "next_poll_at": next_poll_at or now + timedelta(seconds=source.interval_s),
        "last_success_at": now,
        "consecutive_failures": 0,
        "etag": etag,
        "last_modified": last_modified,
        "lease_owner": None,
        "lease_until": None,
        "last_problem": problem,
    }
    if seen_files is not None:
        values["seen_files"] = seen_files
    if seen_dirs is not None:
        values["seen_dirs"] = seen_dirs
    if kind:
        values["kind"] = kind
    done = session.execute(
        update(Source)
        .where(and_(Source.id == source_id, _held_by(worker)))
        .values(**values)
        .returning(Source.id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    return done is not None


def backoff(interval_s: int, failures: int) -> timedelta:
    """Delay before the next poll after ``failures`` failures in a row (doubling, capped)."""
    return min(timedelta(seconds=interval_s * 2 ** min(failures - 1, 16)), MAX_BACKOFF)


def record_poll_failure(
    session: Session,
    source_id: int,
    worker: str,
    error: str,
    now: datetime | None = None,
    retry_at: datetime | None = None,
) -> datetime | None:
    """A failed poll: the error is kept and the next poll backs off.

    ``retry_at`` (e.g. from ``Retry-After``) overrides the backoff. Returns
    the next poll time, or None when ``worker`` no longer holds the lease.
    """
    now = now or utcnow()
    source = session.get(Source, source_id)
    if source is None:
        return None
    failures = source.consecutive_failures + 1
    next_poll = retry_at or now + backoff(source.interval_s, failures)
    done = session.execute(
        update(Source)
        .where(and_(Source.id == source_id, _held_by(worker)))
        .values(
            next_poll_at=next_poll,
            last_error=error[:2000],
            last_error_at=now,
            consecutive_failures=Source.consecutive_failures + 1,
            lease_owner=None,
            lease_until=None,
        )
        .returning(Source.id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    return next_poll if done is not None else None
