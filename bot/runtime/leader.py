"""One replica at a time does a job: a PostgreSQL session-level advisory lock.

Telegram long polling must have one poller per bot (a second ``getUpdates``
ends the first with 409 Conflict, and both see updates twice). Every
replica runs a :class:`Leadership`: it tries the lock every ``check_s``
seconds on a connection of its own; the one that gets it starts the job and
keeps the connection. When that replica dies, PostgreSQL closes its session
and frees the lock, and the next replica to try takes over. A holder that
loses its connection (the database restarted) stops the job at its next
check. On SQLite (one process) there is nobody to share with: the job
starts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection, Engine, text

from bot.store.locks import lock_key, namespace

log = logging.getLogger("alertbot")

Job = Callable[[], Awaitable[None]]


class Leadership:
    """Runs ``start`` while this replica holds the lock named ``name``, ``stop`` when it loses it."""

    def __init__(
        self, engine: Engine, name: str, start: Job, stop: Job, *, check_s: float = 5.0
    ) -> None:
        self.engine = engine
        self.name = name
        self._start, self._stop = start, stop
        self.check_s = check_s
        self.leading = False
        self._conn: Connection | None = None
        self._key: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    def begin(self) -> None:
        """Start trying (in the background)."""
        self._task = asyncio.create_task(self._run(), name=f"leadership:{self.name}")

    async def _run(self) -> None:
        while not self._closing.is_set():
            try:
                if not self.leading:
                    if await asyncio.to_thread(self._try_lock):
                        self.leading = True
                        log.info("%s: this replica took the lead", self.name)
                        await self._start()
                elif not await asyncio.to_thread(self._still_held):
                    log.warning("%s: lost the database session: stopping", self.name)
                    await self._step_down()
            except Exception as exc:  # the database away, the job failing to start: try again
                log.warning("%s: %s: %s", self.name, type(exc).__name__, exc)
                await self._step_down()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.check_s)

    def _try_lock(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            key = lock_key(namespace(conn), "leader", self.name)
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn, self._key = conn, key
        return True

    def _still_held(self) -> bool:
        if self._conn is None:
            return self.engine.dialect.name != "postgresql"
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception:
            self._drop_connection()
            return False
        return True

    def _release(self) -> None:
        if self._conn is not None and self._key is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()  # never back to the pool holding a session lock
                self._conn.close()
        self._conn = self._key = None

    async def _step_down(self) -> None:
        was = self.leading
        self.leading = False
        if was:
            try:
                await self._stop()
            finally:
                await asyncio.to_thread(self._release)
        else:
            await asyncio.to_thread(self._release)

    async def stop(self) -> None:
        """Stop the job if it runs here, and free the lock for another replica."""
        self._closing.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self._step_down()
