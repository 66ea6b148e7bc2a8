"""PostgreSQL advisory locks whose keys belong to one database and schema.

Advisory lock keys are global to a PostgreSQL server's database: two
alertbot deployments in two schemas of one database (or two test runs)
must not wait for each other's locks. Every key is therefore a hash of the
database, the schema and what is locked (:func:`lock_key`). On SQLite
(one process, one writer at a time) there is nothing to lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.orm import Session

_NAMESPACE = "alertbot.lock_namespace"


def namespace(connection: Connection) -> str:
    """``database.schema`` of ``connection`` (cached per pooled connection)."""
    cached = connection.info.get(_NAMESPACE)
    if cached is None:
        row = connection.execute(
            text("SELECT current_database(), coalesce(current_schema(), '')")
        ).one()
        cached = connection.info[_NAMESPACE] = f"{row[0]}.{row[1]}"
    return str(cached)


def lock_key(space: str, *parts: object) -> int:
    """A signed 64-bit advisory lock key for ``parts`` within ``space``."""
    data = "\x1f".join([space, *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


_LOCK_ALL = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(:keys) WITH ORDINALITY AS t(k, n)"
).bindparams(bindparam("keys", type_=ARRAY(BIGINT)))


_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:key)")
# the first key shared, the others alone, in this order (as _LOCK_ALL, one statement)
_LOCK_SHARED_FIRST = text(
    "SELECT count(CASE WHEN n = 1 THEN pg_advisory_xact_lock_shared(k)::text "
    "ELSE pg_advisory_xact_lock(k)::text END) FROM unnest(:keys) WITH ORDINALITY AS t(k, n)"
).bindparams(bindparam("keys", type_=ARRAY(BIGINT)))


def xact_lock_one(session: Session, what: str) -> None:
    """Hold the advisory lock ``what`` alone until commit (PostgreSQL; a no-op elsewhere)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    connection.execute(_EXCLUSIVE, {"key": lock_key(namespace(connection), what)})


def xact_lock(session: Session, what: str, keys: Iterable[int], shared: str | None = None) -> None:
    """Hold transaction-level advisory locks on ``keys`` (of kind ``what``) until commit.

    Taken in sorted order in one statement, so two transactions locking
    overlapping sets never deadlock on them. ``shared``: the lock of that name is taken
    first, shared with other holders, in the same statement. PostgreSQL only; a no-op
    elsewhere.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    space = namespace(connection)
    ordered = sorted({lock_key(space, what, k) for k in keys})
    if shared is not None:
        connection.execute(_LOCK_SHARED_FIRST, {"keys": [lock_key(space, shared), *ordered]})
    elif ordered:
        connection.execute(_LOCK_ALL, {"keys": ordered})
