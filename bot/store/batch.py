"""A batch of articles written in one transaction, in a few statements.

``bot.runtime.pipeline.ingest_batch`` decides, for the articles of one poll (or
one ``/ingest`` call), what storing them one at a time would have decided:
which are stored already or repeat an earlier one of the batch, which story
each new one joins or starts, which alerts are new. This module holds the
statements it needs, each of them for the whole batch: one look-up of the
stored duplicates, one lock of all the batch's LSH bands (PostgreSQL), one
look-up of the candidate stories, then multi-row INSERTs (``… RETURNING``) of
stories, articles, bands, alerts, outlets and outbox rows.

What the batch cannot decide alone — another writer stored one of its
articles between the look-up and the INSERT, or a story it joins was
deleted meanwhile (retention) — raises :class:`BatchConflict`: the caller
then rolls back and stores the articles one at a time, which handles both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from datasketch import LeanMinHash
from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    any_,
    bindparam,
    case,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from bot.store._sql import dialect_insert, table_of
from bot.store.outbox import instant_and_active, notify_outbox, pending_delivery
from bot.store.stories import stored_signature
from bot.store.tables import (
    Alert,
    AlertOutlet,
    ArticleRow,
    Chat,
    Delivery,
    Story,
    StoryBand,
    Subscription,
    UTCDateTime,
)


class BatchConflict(Exception):
    """Another writer changed what the batch read: store its articles one at a time."""


def stored_duplicates(
    session: Session, url_hashes: Iterable[str], content_hashes: Iterable[str]
) -> tuple[dict[str, tuple[int, int | None]], dict[str, tuple[int, int | None]]]:
    """The stored articles with one of the URL or content hashes: (by URL hash, by content
    hash), each hash → (article id, story id)."""
    urls, contents = sorted(set(url_hashes)), sorted(set(content_hashes))
    by_url: dict[str, tuple[int, int | None]] = {}
    by_content: dict[str, tuple[int, int | None]] = {}
    if not urls and not contents:
        return by_url, by_content
    if _pg(session):  # two array parameters: one short statement, prepared once
        where = or_(
            ArticleRow.url_hash == any_(bindparam("urls", urls, type_=ARRAY(String))),
            ArticleRow.content_hash == any_(bindparam("contents", contents, type_=ARRAY(String))),
        )
    else:
        where = or_(ArticleRow.url_hash.in_(urls), ArticleRow.content_hash.in_(contents))
    rows = session.execute(
        select(
            ArticleRow.id, ArticleRow.url_hash, ArticleRow.content_hash, ArticleRow.story_id
        ).where(where)
    )
    for article_id, u_hash, c_hash, story_id in rows:
        if u_hash is not None:
            by_url[u_hash] = (article_id, story_id)
        by_content[c_hash] = (article_id, story_id)
    return by_url, by_content


def candidate_stories(
    session: Session, keys: Sequence[int], cutoff: datetime
) -> tuple[dict[int, list[int]], dict[int, LeanMinHash]]:
    """The stories created since ``cutoff`` sharing a band key with ``keys`` (what
    ``bot.store.stories._candidates`` reads for one article, for all of them at once):
    band key → story ids, and story id → signature."""
    by_key: dict[int, list[int]] = {}
    sigs: dict[int, LeanMinHash] = {}
    if not keys:
        return by_key, sigs
    ordered = sorted(set(keys))
    if _pg(session):
        sharing = StoryBand.band_key == any_(bindparam("keys", ordered, type_=ARRAY(BigInteger)))
    else:
        sharing = StoryBand.band_key.in_(ordered)
    rows = session.execute(
        select(StoryBand.band_key, Story.id, Story.minhash)
        .join(Story, Story.id == StoryBand.story_id)
        .where(
            sharing,
            StoryBand.created_at >= cutoff,
            Story.created_at >= cutoff,
            Story.minhash.is_not(None),
        )
    )
    unusable: set[int] = set()
    for key, story_id, data in rows:
        if story_id in unusable:
            continue
        if story_id not in sigs:
            sig = stored_signature(data)
            if sig is None:
                unusable.add(story_id)
                continue
            sigs[story_id] = sig
        by_key.setdefault(key, []).append(story_id)
    return by_key, sigs


def join_stories(session: Session, joins: dict[int, int], now: datetime) -> None:
    """``article_count`` += the number of the batch's articles joining each stored story;
    BatchConflict when one of them is gone (deleted by retention meanwhile)."""
    if not joins:
        return
    ids = sorted(joins)
    found = session.execute(
        update(Story)
        .where(Story.id.in_(ids))
        .values(
            article_count=Story.article_count + case(joins, value=Story.id, else_=0),
            updated_at=now,
        )
        .returning(Story.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    if sorted(found) != ids:
        raise BatchConflict("a story the batch joins was deleted meanwhile")


def insert_stories(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """New stories (``first_article_id`` set later: the articles are not stored yet);
    their ids in the order of ``rows``."""
    if not rows:
        return []
    if _pg(session):  # ids drawn in the rows' order (ORDER BY the ordinality)
        return sorted(
            _unnest_insert(session, "stories", _STORY_COLUMNS, rows, "RETURNING id").scalars()
        )
    stmt = dialect_insert(session, Story).returning(
        table_of(Story).c.id, sort_by_parameter_order=True
    )
    return list(session.execute(stmt, rows).scalars())


# PostgreSQL: a batch's rows as one array per column, unnested by the server. The
# statement's text is the same for any number of rows: psycopg parses it once and the
# server prepares it (a multi-row VALUES is a new, long text for every batch size, which
# psycopg re-parses in Python each time: ~8 ms for 100 articles).
_STORY_COLUMNS = {
    "title": "text",
    "article_count": "int4",
    "minhash": "bytea",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}
_ARTICLE_COLUMNS = {
    "canonical_url": "text",
    "url_hash": "text",
    "content_hash": "text",
    "url": "text",
    "title": "text",
    "text": "text",
    "search_title": "text",
    "search_text": "text",
    "source_name": "text",
    "source_id": "int4",
    "published_at": "timestamptz",
    "fetched_at": "timestamptz",
    "story_id": "int4",
}
_UNNEST: dict[tuple[str, str], Any] = {}


def _unnest_insert(
    session: Session, table: str, columns: dict[str, str], rows: list[dict[str, Any]], tail: str
) -> Any:
    stmt = _UNNEST.get((table, tail))
    if stmt is None:
        names = ", ".join(f'"{c}"' for c in columns)
        arrays = ", ".join(f"CAST(:{c} AS {t}[])" for c, t in columns.items())
        stmt = _UNNEST[(table, tail)] = text(
            f'INSERT INTO "{table}" ({names}) SELECT {names} FROM unnest({arrays}) '
            f"WITH ORDINALITY AS t({names}, n) ORDER BY n {tail}"
        )
    return session.execute(stmt, {c: [row[c] for row in rows] for c in columns})


_SET_FIRST = (
    update(table_of(Story))
    .where(table_of(Story).c.id == bindparam("story"))
    .values(first_article_id=bindparam("article"))
)


def set_first_articles(session: Session, pairs: list[tuple[int, int]]) -> None:
    """(story id, article id): the article that started each new story."""
    if not pairs:
        return
    if _pg(session):
        session.execute(
            _PG_SET_FIRST, {"stories": [s for s, _ in pairs], "articles": [a for _, a in pairs]}
        )
    else:
        session.execute(_SET_FIRST, [{"story": s, "article": a} for s, a in pairs])


_PG_SET_FIRST = text(
    "UPDATE stories SET first_article_id = t.a "
    "FROM unnest(CAST(:stories AS int4[]), CAST(:articles AS int4[])) AS t(s, a) "
    "WHERE stories.id = t.s"
)


def insert_articles(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """The new articles; content hash → id. BatchConflict when one of them was stored by
    another writer since ``stored_duplicates`` (its INSERT did nothing)."""
    if not rows:
        return {}
    if _pg(session):
        tail = "ON CONFLICT DO NOTHING RETURNING id, content_hash"
        result = _unnest_insert(session, "articles", _ARTICLE_COLUMNS, rows, tail)
    else:
        table = table_of(ArticleRow)
        stmt = (
            dialect_insert(session, ArticleRow)
            .on_conflict_do_nothing()
            .returning(table.c.id, table.c.content_hash)
        )
        result = session.execute(stmt, rows)
    ids = {c_hash: article_id for article_id, c_hash in result}
    if len(ids) != len(rows):
        raise BatchConflict("another writer stored one of the batch's articles")
    return ids


_PG_BANDS = text(
    "INSERT INTO story_bands (band_key, story_id, created_at) "
    "SELECT k, s, :now FROM unnest(:keys, :stories) AS t(k, s)"
).bindparams(
    bindparam("keys", type_=ARRAY(BigInteger)),
    bindparam("stories", type_=ARRAY(Integer)),
    bindparam("now", type_=UTCDateTime()),
)


def insert_bands(session: Session, bands: list[tuple[int, int]], now: datetime) -> None:
    """The LSH bands (band key, story id) of the new stories."""
    if not bands:
        return
    if _pg(session):  # thousands of rows: two array parameters, not one row each
        keys, stories = [k for k, _ in bands], [s for _, s in bands]
        session.execute(_PG_BANDS, {"keys": keys, "stories": stories, "now": now})
    else:
        rows = [{"band_key": k, "story_id": s, "created_at": now} for k, s in bands]
        session.execute(dialect_insert(session, StoryBand), rows)


def _pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_alerts(
    session: Session, rows: list[dict[str, Any]]
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """Alerts, each unless its (story, watchlist) has one: (created, already there), each
    (story id, watchlist) → alert id."""
    created: dict[tuple[int, str], int] = {}
    if not rows:
        return created, {}
    table = table_of(Alert)
    stmt = (
        dialect_insert(session, Alert)
        .on_conflict_do_nothing()
        .returning(table.c.id, table.c.story_id, table.c.watchlist)
    )
    for alert_id, story_id, watchlist in session.execute(stmt, rows):
        created[(story_id, watchlist)] = alert_id
    missing = [(r["story_id"], r["watchlist"]) for r in rows]
    missing = [k for k in missing if k not in created]
    existing: dict[tuple[int, str], int] = {}
    if missing:
        found = session.execute(
            select(Alert.id, Alert.story_id, Alert.watchlist).where(
                tuple_(Alert.story_id, Alert.watchlist).in_(missing)
            )
        )
        existing = {(s, w): a for a, s, w in found}
        if len(existing) != len(missing):  # pragma: no cover - its conflict was rolled back
            raise BatchConflict("an alert conflicted with a row that no longer exists")
    return created, existing


def alerts_of_stories(session: Session, story_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(alert id, story id) of every alert of the stories, by id."""
    ids = sorted(set(story_ids))
    if not ids:
        return []
    rows = session.execute(
        select(Alert.id, Alert.story_id).where(Alert.story_id.in_(ids)).order_by(Alert.id)
    )
    return [(a, s) for a, s in rows]


def insert_outlets(session: Session, rows: list[dict[str, Any]]) -> None:
    """Outlets, each unless its alert has it (the first of the batch wins, as one at a
    time)."""
    seen: set[tuple[int, str]] = set()
    unique = []
    for row in rows:
        key = (row["alert_id"], row["outlet"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    if unique:
        session.execute(dialect_insert(session, AlertOutlet).on_conflict_do_nothing(), unique)


def enqueue_batch(session: Session, alerts: list[tuple[int, str]], now: datetime) -> int:
    """``enqueue_deliveries`` for several new alerts ((id, watchlist), in order) in two
    statements; how many outbox rows were made."""
    if not alerts:
        return 0
    watchlists = sorted({w for _, w in alerts})
    subs: dict[str, list[int]] = {}
    for sub_id, watchlist in session.execute(
        select(Subscription.id, Subscription.watchlist)
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Subscription.watchlist.in_(watchlists), *instant_and_active(now))
        .order_by(Subscription.id)
    ):
        subs.setdefault(watchlist, []).append(sub_id)
    rows = [
        pending_delivery(sub_id, alert_id, now)
        for alert_id, watchlist in alerts
        for sub_id in subs.get(watchlist, [])
    ]
    if not rows:
        return 0
    session.execute(dialect_insert(session, Delivery).on_conflict_do_nothing(), rows)
    notify_outbox(session)
    return len(rows)
