"""What ``GET /healthz`` asks the database: that it answers, and when a poll last worked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.tables import Source


def last_poll_success(session: Session) -> datetime | None:
    """When any source was last polled successfully, by any replica.

    A query on a table (not ``SELECT 1``): a database that answers but lost
    its schema is not healthy either.
    """
    return session.scalar(select(func.max(Source.last_success_at)))
