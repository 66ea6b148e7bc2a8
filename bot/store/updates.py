"""Telegram webhook updates: claimed once by ``(bot, update_id)`` across replicas."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.store._sql import dialect_insert
from bot.store.tables import TelegramUpdate, utcnow

# Telegram keeps an undelivered update for 24 hours: a retry never comes later than that
KEEP_UPDATES = timedelta(hours=48)


def claim_update(session: Session, bot_id: int, update_id: int, now: datetime | None = None) -> bool:
    """True for the first caller with this update (it processes it), False for a repeat.

    ``INSERT … ON CONFLICT DO NOTHING``: a second replica inserting the same key
    waits for the first one's commit and then inserts nothing.
    """
    stmt = (
        dialect_insert(session, TelegramUpdate)
        .values(bot_id=bot_id, update_id=update_id, received_at=now or utcnow())
        .on_conflict_do_nothing()
        .returning(TelegramUpdate.update_id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def forget_updates(session: Session, now: datetime | None = None) -> int:
    """Drop the keys of updates older than Telegram could send again; how many."""
    cutoff = (now or utcnow()) - KEEP_UPDATES
    gone = session.execute(
        delete(TelegramUpdate)
        .where(TelegramUpdate.received_at < cutoff)
        .returning(TelegramUpdate.update_id)
    )
    return len(gone.all())
