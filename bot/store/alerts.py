"""Alerts: one per (story, watchlist), its outlets, and the outbox rows it creates."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Match, match_record
from bot.store._sql import dialect_insert, insert_ignore, orm_insert
from bot.store.outbox import enqueue_deliveries
from bot.store.tables import Alert, AlertOutlet, ArticleRow, Feedback, utcnow


def outlet_name(source: str, url: str) -> str:
    """Who published an article: its source name, else its URL's host, else "unknown"."""
    name = source.strip()
    if not name and url:
        try:
            name = (urlsplit(url).hostname or "").removeprefix("www.")
        except ValueError:
            name = ""
    return (name or "unknown")[:200]


def alert_values(
    match: Match,
    now: datetime,
    relevance: float | None = None,
    model_version: int | None = None,
    held_back: bool = False,
) -> dict[str, Any]:
    """An alert row's values for ``match`` but its story and article ids (one alert at a
    time here, a batch's in :mod:`bot.runtime.pipeline`)."""
    record = match_record(match)
    return {
        "watchlist": match.watchlist,
        "score": match.score,
        "summary": match.summary,
        "hits": record["hits"],
        "score_parts": record["score_parts"],
        "rule": match.rule,
        "created_at": now,
        "relevance": relevance,
        "model_version": model_version,
        "held_back": held_back,
    }


def record_alert(
    session: Session,
    story_id: int,
    match: Match,
    article_id: int | None,
    now: datetime | None = None,
    *,
    relevance: float | None = None,
    model_version: int | None = None,
    held_back: bool = False,
) -> tuple[Alert, bool]:
    """The alert of ``match`` for its story; ``created`` is True only the first time.

    The first article of a story to match a watchlist creates the alert and,
    in the same transaction, one outbox row per active instant subscription
    of that watchlist. A later article of the same story (a reprint) only
    adds its outlet to the existing alert: no new alert, no new push. Safe
    against concurrent writers (the unique (story, watchlist) key decides).
    A ``held_back`` alert (the learned stage scored it below its threshold)
    is stored with its ``relevance`` and ``model_version`` but not queued.
    """
    now = now or utcnow()
    values = alert_values(match, now, relevance, model_version, held_back)
    stmt = orm_insert(session, Alert).values(  # the new row comes back with the INSERT
        {"story_id": story_id, "article_id": article_id, **values}
    )
    created = session.scalars(stmt.on_conflict_do_nothing().returning(Alert)).one_or_none()
    if created is None:
        alert = session.scalars(
            select(Alert).where(Alert.story_id == story_id, Alert.watchlist == match.watchlist)
        ).one()
    else:
        alert = created
    source, url = match.article.source, match.article.url
    if article_id is not None:
        row = session.get(ArticleRow, article_id)
        if row is not None:
            source, url = row.source_name, row.url
    add_outlet(session, alert.id, outlet_name(source, url), url, article_id, now)
    if created is not None and not held_back:
        enqueue_deliveries(session, alert.id, alert.watchlist, now)
    return alert, created is not None


def outlet_values(
    alert_id: int, outlet: str, url: str, article_id: int | None, now: datetime
) -> dict[str, Any]:
    """An alert outlet row's values (one at a time here, a batch's in the pipeline)."""
    return {
        "alert_id": alert_id,
        "outlet": outlet[:200],
        "url": url,
        "article_id": article_id,
        "created_at": now,
    }


def add_outlet(
    session: Session,
    alert_id: int,
    outlet: str,
    url: str = "",
    article_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Note that ``outlet`` published the alert's story; False when already noted."""
    new_id = insert_ignore(
        session, AlertOutlet, outlet_values(alert_id, outlet, url, article_id, now or utcnow())
    )
    if new_id is not None:
        loaded = session.get(Alert, alert_id)
        if loaded is not None:
            session.expire(loaded, ["outlets"])  # reload the list on next access
    return new_id is not None


def add_story_outlet(
    session: Session, story_id: int, source: str, url: str, now: datetime | None = None
) -> int:
    """Add an outlet to every alert of a story (for a verbatim copy that was not stored).

    Returns how many alerts gained the outlet.
    """
    name = outlet_name(source, url)
    ids = session.scalars(
        select(Alert.id).where(Alert.story_id == story_id).order_by(Alert.id)  # a stable order
    ).all()
    return sum(add_outlet(session, alert_id, name, url, None, now) for alert_id in ids)


def get_alert(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def recent_alerts(
    session: Session,
    watchlist: str | None = None,
    since: datetime | None = None,
    limit: int = 20,
) -> list[Alert]:
    """Alerts, newest first, optionally of one watchlist and since a moment."""
    stmt = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    if watchlist is not None:
        stmt = stmt.where(Alert.watchlist == watchlist)
    if since is not None:
        stmt = stmt.where(Alert.created_at >= since)
    return list(session.scalars(stmt))


def record_feedback(
    session: Session,
    alert_id: int,
    chat_id: int,
    user_id: str,
    relevant: bool,
    now: datetime | None = None,
) -> None:
    """A user's verdict on an alert; voting again replaces the earlier vote."""
    stmt = dialect_insert(session, Feedback).values(
        alert_id=alert_id,
        chat_id=chat_id,
        user_id=user_id,
        relevant=relevant,
        created_at=now or utcnow(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["alert_id", "chat_id", "user_id"],
        set_={"relevant": stmt.excluded.relevant, "created_at": stmt.excluded.created_at},
    )
    session.execute(stmt)
