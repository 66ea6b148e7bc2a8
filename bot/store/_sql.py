"""Small SQL helpers shared by the store modules (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.store.tables import Base


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def dialect_insert(session: Session, model: type[Base]) -> Any:
    """An INSERT for ``model`` that supports ``on_conflict_do_nothing``/``_update``."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table_of(model))
    if name == "sqlite":
        return sqlite.insert(table_of(model))
    raise NotImplementedError(f"unsupported database: {name}")


def orm_insert(session: Session, model: type[Base]) -> Any:
    """:func:`dialect_insert` on the mapped class: ``.returning(model)`` then gives the
    new row as an object in the session (as ``session.get`` would) in the INSERT's own
    answer, without a second statement to read it back."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"unsupported database: {name}")


def insert_ignore(session: Session, model: type[Base], values: dict[str, Any]) -> int | None:
    """Insert one row; its id, or None when a unique key already has it.

    ``INSERT … ON CONFLICT DO NOTHING RETURNING id``: no exception and no
    aborted transaction when another writer got there first (PostgreSQL
    waits for that writer to commit or roll back).
    """
    table = table_of(model)
    stmt = dialect_insert(session, model).values(**values).on_conflict_do_nothing()
    return session.execute(stmt.returning(table.c.id)).scalar_one_or_none()
