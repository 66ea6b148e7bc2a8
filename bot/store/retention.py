"""Retention: forget stories and articles older than the window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from bot.store.tables import ArticleRow, Story, utcnow


def purge_older_than(session: Session, days: int, now: datetime | None = None) -> tuple[int, int]:
    """Delete stories not updated for ``days`` (their alerts, outlets and outbox rows
    go with them) and articles fetched before then. Returns (stories, articles)."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    old_stories = select(Story.id).where(Story.updated_at < cutoff)
    articles = cast(
        CursorResult[tuple[()]],
        session.execute(
            delete(ArticleRow)
            .where(ArticleRow.fetched_at < cutoff)
            .where((ArticleRow.story_id.is_(None)) | ArticleRow.story_id.in_(old_stories))
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    stories = cast(
        CursorResult[tuple[()]],
        session.execute(
            delete(Story)
            .where(Story.updated_at < cutoff)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    return stories or 0, articles or 0
