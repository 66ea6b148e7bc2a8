"""Watchlists as stored YAML text (edited in chat; bundled ones loaded on first start)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store._sql import dialect_insert
from bot.store.tables import WatchlistRow, utcnow


def save_watchlist(
    session: Session,
    name: str,
    yaml: str,
    updated_by: str | None = None,
    now: datetime | None = None,
) -> WatchlistRow:
    """Create or replace the YAML of watchlist ``name``."""
    now = now or utcnow()
    stmt = dialect_insert(session, WatchlistRow).values(
        name=name, yaml=yaml, updated_at=now, updated_by=updated_by
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"yaml": yaml, "updated_at": now, "updated_by": updated_by},
    )
    session.execute(stmt)
    row = session.get(WatchlistRow, name, populate_existing=True)
    assert row is not None
    return row


def get_watchlist(session: Session, name: str) -> WatchlistRow | None:
    return session.get(WatchlistRow, name)


def list_watchlists(session: Session) -> list[WatchlistRow]:
    return list(session.scalars(select(WatchlistRow).order_by(WatchlistRow.name)))


def delete_watchlist(session: Session, name: str) -> bool:
    """Delete a watchlist's YAML (its alerts and subscriptions stay); False if unknown."""
    gone = session.execute(
        delete(WatchlistRow).where(WatchlistRow.name == name).returning(WatchlistRow.name)
    ).scalar_one_or_none()
    return gone is not None
