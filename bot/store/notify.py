"""PostgreSQL ``LISTEN`` for the outbox's ``NOTIFY``: a new row wakes every replica's sender.

:func:`bot.store.outbox.enqueue_deliveries` sends ``pg_notify`` inside the
alert's transaction; PostgreSQL delivers it at commit, to every session
listening on the channel (one per schema, :data:`OUTBOX_CHANNEL_SQL`). The
listener holds one connection of its own, outside the pool, in autocommit
mode (a ``LISTEN`` inside an open transaction would see nothing until it
ends). When the connection drops it is made again after a pause, with one
log line per outage; the periodic drain covers what was missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from bot.store.outbox import OUTBOX_CHANNEL_SQL

log = logging.getLogger(__name__)

RECONNECT_S = 5.0


def listens(engine: Engine) -> bool:
    """Whether the database can wake other replicas (PostgreSQL through psycopg)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


def _connect_args(engine: Engine) -> tuple[list[Any], dict[str, Any]]:
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    return list(args), dict(kwargs)


async def listen_outbox(
    engine: Engine,
    on_notify: Callable[[], None],
    stop: asyncio.Event,
    *,
    ready: Callable[[], None] | None = None,
    reconnect_s: float = RECONNECT_S,
) -> None:
    """Call ``on_notify`` for every outbox notification until ``stop`` is set.

    ``ready`` is called each time the ``LISTEN`` is in place (tests wait for
    it); ``on_notify`` is called then too, for what committed while nobody
    listened.
    """
    import psycopg
    from psycopg import sql

    args, kwargs = _connect_args(engine)
    kwargs["autocommit"] = True
    down = False
    while not stop.is_set():
        try:
            conn = await psycopg.AsyncConnection.connect(*args, **kwargs)
            async with conn:
                cur = await conn.execute(f"SELECT {OUTBOX_CHANNEL_SQL}")
                row = await cur.fetchone()
                assert row is not None
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(row[0])))
                if down:
                    log.info("outbox notifications: listening again")
                down = False
                if ready is not None:
                    ready()
                on_notify()
                await _pump(conn, on_notify, stop)
        except psycopg.Error as err:
            if not down:
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                log.warning(
                    "outbox notifications unavailable (%s); retrying every %.0fs, "
                    "the periodic drain still sends",
                    first,
                    reconnect_s,
                )
            down = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), reconnect_s)


async def _pump(conn: Any, on_notify: Callable[[], None], stop: asyncio.Event) -> None:
    """Hand each notification on until ``stop``; returns when ``stop`` is set."""

    async def read() -> None:
        async for _ in conn.notifies():
            on_notify()

    reader = asyncio.ensure_future(read())
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if reader in done:
            reader.result()  # the connection's error, if it ended with one
    finally:
        for task in (reader, stopper):
            task.cancel()
        await asyncio.gather(reader, stopper, return_exceptions=True)
