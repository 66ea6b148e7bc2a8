"""Reading alerts for answers: lists, counts, summaries and per-day series.

Filters are a watchlist and/or entities (the canonical names stored hits
carry as ``term`` with ``kind == "entity"``) and a period over the alert's
``created_at``. The entity filter and the entity counts read the hits JSON
in the database (SQLite ``json_each``, PostgreSQL ``json_array_elements``)
so only the counts travel, not every alert's evidence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    distinct,
    exists,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.orm import Session

from bot.answers.periods import Period
from bot.store.tables import Alert, AlertOutlet, ArticleRow, Story

__all__ = [
    "AlertFilter",
    "AlertLine",
    "DayCount",
    "EntityCount",
    "SummaryData",
    "alert_lines",
    "count_alerts",
    "latest_alert",
    "list_alerts",
    "summary_data",
    "trend_data",
]

AnySelect = Select[*tuple[Any, ...]]
_S = TypeVar("_S", bound=AnySelect)

TOP_STORIES = 5
TOP_ENTITIES = 8
_CANDIDATES = 60  # alerts read to find the top stories (several alerts may share a story)


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts: of one watchlist, and/or mentioning one of these entities.

    ``held_back``: False (the default) counts only alerts that were pushed,
    True only those the learned stage held back, None both (``alerts … all``).
    """

    watchlist: str | None = None
    entities: tuple[str, ...] = ()
    held_back: bool | None = False


@dataclass(frozen=True)
class AlertLine:
    """One alert as an answer lists it."""

    id: int
    watchlist: str
    story_id: int
    title: str
    url: str
    score: float
    outlets: int
    created_at: datetime
    summary: str = ""
    hit_texts: tuple[str, ...] = ()  # what matched, for bold
    text: str = ""  # the article's text (only when asked for: search snippets)
    held_back: bool = False  # the learned stage scored it under its threshold: not pushed
    relevance: float | None = None  # the learned stage's score (None: not scored)


@dataclass(frozen=True)
class EntityCount:
    name: str
    count: int  # alerts mentioning it in the period
    previous: int  # … in the previous period


@dataclass
class SummaryData:
    period: Period
    previous: Period
    watchlist: str | None
    alerts: int
    stories: int
    previous_alerts: int
    previous_stories: int
    entities: list[EntityCount] = field(default_factory=list)
    top: list[AlertLine] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.alerts == 0


@dataclass(frozen=True)
class DayCount:
    day: date
    mentions: int
    alerts: int


# --- hits JSON -------------------------------------------------------------


class _Hits:
    """The elements of ``alerts.hits`` as a correlated table, per dialect."""

    def __init__(self, session: Session) -> None:
        self.pg = session.get_bind().dialect.name == "postgresql"
        fn = func.json_array_elements if self.pg else func.json_each
        self.table = fn(Alert.hits).table_valued("value").alias("hit")

    def field(self, name: str) -> ColumnElement[Any]:
        # the key is part of the SQL text, not a parameter: PostgreSQL must see the
        # same expression in SELECT and GROUP BY (``name`` is one of ours, never user text)
        value = self.table.c.value
        if self.pg:
            return value.op("->>")(literal_column(f"'{name}'"))
        return func.json_extract(value, literal_column(f"'$.{name}'"))

    def is_entity(self, names: Sequence[str] | None = None) -> ColumnElement[bool]:
        cond = self.field("kind") == "entity"
        if names is not None:
            cond = and_(cond, self.field("term").in_(list(names)))
        return cond


def _where(session: Session, stmt: _S, flt: AlertFilter, period: Period | None) -> _S:
    if period is not None:
        stmt = stmt.where(Alert.created_at >= period.start, Alert.created_at < period.end)
    if flt.watchlist is not None:
        stmt = stmt.where(Alert.watchlist == flt.watchlist)
    if flt.held_back is not None:
        stmt = stmt.where(Alert.held_back == flt.held_back)
    if flt.entities:
        hits = _Hits(session)
        stmt = stmt.where(
            exists(select(1).select_from(hits.table).where(hits.is_entity(flt.entities)))
        )
    return stmt


def _outlet_count() -> Any:
    return (
        select(func.count(AlertOutlet.id))
        .where(AlertOutlet.alert_id == Alert.id)
        .correlate(Alert)
        .scalar_subquery()
    )


def _line_select(with_text: bool = False) -> AnySelect:
    outlets = _outlet_count().label("outlets")
    cols: list[Any] = [
        Alert.id,
        Alert.watchlist,
        Alert.story_id,
        func.coalesce(ArticleRow.title, Story.title).label("title"),
        func.coalesce(ArticleRow.url, "").label("url"),
        Alert.score,
        outlets,
        Alert.created_at,
        Alert.summary,
        Alert.hits,
        Alert.held_back,
        Alert.relevance,
    ]
    if with_text:
        cols.append(func.coalesce(ArticleRow.text, "").label("text"))
    return (
        select(*cols)
        .select_from(Alert)
        .join(Story, Story.id == Alert.story_id)
        .outerjoin(ArticleRow, ArticleRow.id == Alert.article_id)
    )


def _line(row: Any, with_text: bool = False) -> AlertLine:
    hits = row.hits or []
    texts = tuple(
        sorted({str(h.get("text", "")) for h in hits if isinstance(h, dict) and h.get("text")})
    )
    return AlertLine(
        id=row.id,
        watchlist=row.watchlist,
        story_id=row.story_id,
        title=row.title or "",
        url=row.url or "",
        score=float(row.score),
        outlets=int(row.outlets or 0),
        created_at=row.created_at,
        summary=row.summary or "",
        hit_texts=texts,
        text=row.text if with_text else "",
        held_back=bool(row.held_back),
        relevance=row.relevance,
    )


# --- lists -----------------------------------------------------------------


def count_alerts(session: Session, flt: AlertFilter, period: Period | None) -> int:
    stmt = _where(session, select(func.count(Alert.id)).select_from(Alert), flt, period)
    return int(session.execute(stmt).scalar_one())


def list_alerts(
    session: Session, flt: AlertFilter, period: Period | None, offset: int = 0, limit: int = 10
) -> list[AlertLine]:
    """Alerts newest first (ties: the higher id first)."""
    stmt = _where(session, _line_select(), flt, period)
    stmt = stmt.order_by(Alert.created_at.desc(), Alert.id.desc()).offset(offset).limit(limit)
    return [_line(row) for row in session.execute(stmt)]


def latest_alert(session: Session, flt: AlertFilter, before: datetime) -> AlertLine | None:
    """The newest alert before ``before`` (to say when there last was one)."""
    stmt = _where(session, _line_select(), flt, None).where(Alert.created_at < before)
    row = session.execute(stmt.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(1)).first()
    return _line(row) if row is not None else None


def alert_lines(session: Session, ids: Sequence[int], with_text: bool = False) -> list[AlertLine]:
    """The alerts ``ids``, in that order (missing ones left out)."""
    if not ids:
        return []
    rows = session.execute(_line_select(with_text).where(Alert.id.in_(list(ids))))
    by_id = {row.id: _line(row, with_text) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


# --- summaries -------------------------------------------------------------


def _counts(session: Session, flt: AlertFilter, period: Period) -> tuple[int, int]:
    stmt = select(func.count(Alert.id), func.count(distinct(Alert.story_id))).select_from(Alert)
    alerts, stories = session.execute(_where(session, stmt, flt, period)).one()
    return int(alerts), int(stories)


def entity_counts(
    session: Session,
    flt: AlertFilter,
    period: Period,
    names: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[tuple[str, int]]:
    """(entity, alerts mentioning it), most mentioned first; only ``names`` when given."""
    hits = _Hits(session)
    term = hits.field("term")
    count = func.count(distinct(Alert.id))
    stmt = (
        select(term.label("term"), count.label("n"))
        .select_from(Alert)
        .join(hits.table, true())
        .where(hits.is_entity(names))
        .group_by(term)
        .order_by(count.desc(), term)
    )
    stmt = _where(session, stmt, AlertFilter(flt.watchlist, held_back=flt.held_back), period)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(str(row.term), int(row.n)) for row in session.execute(stmt) if row.term]


def top_stories(
    session: Session, flt: AlertFilter, period: Period, limit: int = TOP_STORIES
) -> list[AlertLine]:
    """The best alert of each of the top stories: by score, then by outlets.

    Outlets are counted only for the candidates: the alerts scoring at least
    the ``_CANDIDATES``-th best score (ties included), not for the whole period.
    """
    cutoff = session.execute(
        _where(session, select(Alert.score), flt, period)
        .order_by(Alert.score.desc())
        .offset(_CANDIDATES - 1)
        .limit(1)
    ).scalar_one_or_none()
    outlets = _outlet_count()
    stmt = _where(session, _line_select(), flt, period)
    if cutoff is not None:
        stmt = stmt.where(Alert.score >= cutoff)
    stmt = stmt.order_by(Alert.score.desc(), outlets.desc(), Alert.id.desc()).limit(_CANDIDATES)
    seen: set[int] = set()
    top: list[AlertLine] = []
    for row in session.execute(stmt):
        if row.story_id in seen:
            continue
        seen.add(row.story_id)
        top.append(_line(row))
        if len(top) == limit:
            break
    return top


def summary_data(session: Session, flt: AlertFilter, period: Period) -> SummaryData:
    """Counts, the most mentioned entities against the previous period, the top stories."""
    previous = period.previous()
    alerts, stories = _counts(session, flt, period)
    data = SummaryData(
        period, previous, flt.watchlist, alerts, stories, *_counts(session, flt, previous)
    )
    if alerts == 0:
        return data
    current = entity_counts(session, flt, period, limit=TOP_ENTITIES)
    before = dict(entity_counts(session, flt, previous, names=[n for n, _ in current]))
    data.entities = [EntityCount(name, n, before.get(name, 0)) for name, n in current]
    data.top = top_stories(session, flt, period)
    return data


# --- series ----------------------------------------------------------------


def trend_data(session: Session, flt: AlertFilter, period: Period) -> list[DayCount]:
    """Per local day of ``period``: mentions (hits of the entities, or all of the
    watchlist's hits) and alerts."""
    if flt.entities:
        hits = _Hits(session)
        stmt = (
            select(Alert.id, Alert.created_at, func.count().label("n"))
            .select_from(Alert)
            .join(hits.table, true())
            .where(hits.is_entity(flt.entities))
            .group_by(Alert.id, Alert.created_at)
        )
        stmt = _where(session, stmt, AlertFilter(flt.watchlist, held_back=flt.held_back), period)
    else:
        stmt = _where(
            session,
            select(Alert.id, Alert.created_at, func.json_array_length(Alert.hits).label("n")),
            flt,
            period,
        )
    zone = period.zone
    alerts: Counter[date] = Counter()
    mentions: Counter[date] = Counter()
    for row in session.execute(stmt):
        day = row.created_at.astimezone(zone).date()
        alerts[day] += 1
        mentions[day] += int(row.n or 0)
    return [DayCount(day, mentions[day], alerts[day]) for day in period.days()]
