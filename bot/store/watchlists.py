"""Watchlists and lexicons as stored YAML text (edited in chat; bundled ones loaded on first start)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store._sql import dialect_insert
from bot.store.tables import LexiconRow, WatchlistRow, utcnow


def _upsert(
    session: Session,
    table: type[WatchlistRow] | type[LexiconRow],
    name: str,
    yaml: str,
    updated_by: str | None,
    now: datetime | None,
) -> None:
    now = now or utcnow()
    stmt = dialect_insert(session, table).values(
        name=name, yaml=yaml, updated_at=now, updated_by=updated_by
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"yaml": yaml, "updated_at": now, "updated_by": updated_by},
    )
    session.execute(stmt)


def save_watchlist(
    session: Session,
    name: str,
    yaml: str,
    updated_by: str | None = None,
    now: datetime | None = None,
) -> WatchlistRow:
    """Create or replace the YAML of watchlist ``name``."""
    _upsert(session, WatchlistRow, name, yaml, updated_by, now)
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


def save_lexicon(
    session: Session,
    name: str,
    yaml: str,
    updated_by: str | None = None,
    now: datetime | None = None,
) -> LexiconRow:
    """Create or replace the YAML of lexicon ``name``."""
    _upsert(session, LexiconRow, name, yaml, updated_by, now)
    row = session.get(LexiconRow, name, populate_existing=True)
    assert row is not None
    return row


def get_lexicon(session: Session, name: str) -> LexiconRow | None:
    return session.get(LexiconRow, name)


def list_lexicons(session: Session) -> list[LexiconRow]:
    return list(session.scalars(select(LexiconRow).order_by(LexiconRow.name)))
