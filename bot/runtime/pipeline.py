"""Article → clean → store once → story → match → alerts (+ outbox rows).

``bot.engine.analyse`` is the pure part (what ``scan`` and ``eval`` use too). ``ingest`` is
the stored path of one article: its story, its alerts and their outbox rows are written
together or not at all. ``ingest_all`` (a poll, an ``/ingest`` call, a stream read) stores
its articles in batches of ``BATCH_SIZE``: one transaction each, a few multi-row statements
for the whole batch (``ingest_batch``), and the same rows, stories and alerts as storing
them one at a time. An article the batch cannot store (it breaks the matcher, the database
refuses it) is lost alone, in one log line: the batch is rolled back and its articles are
stored one at a time, each in a SAVEPOINT of one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from bot import metrics
from bot.engine.analyse import analyse, clean_article
from bot.engine.matcher import Matcher
from bot.engine.stories import StoryRules, best_story, signature_to_bytes
from bot.logs import bind
from bot.models import Article
from bot.store import add_story_outlet, assign_story, record_alert, session_scope, store_article
from bot.store import batch as sql
from bot.store.alerts import alert_values, outlet_name, outlet_values
from bot.store.articles import article_values, content_hash, identity_url, url_hash
from bot.store.db import SessionFactory
from bot.store.stories import (
    DEFAULT_RULES,
    LockedBands,
    article_bands,
    lock_all_bands,
    lock_bands,
)
from bot.store.tables import search_text, search_title, utcnow

if TYPE_CHECKING:
    from bot.runtime.learning import Relevance


@dataclass
class Ingested:
    """What happened to one article."""

    article_id: int | None  # None: nothing to store (no title, no text)
    stored: bool  # False: already stored (same canonical URL or same content), or empty
    story_id: int | None
    new_story: bool = False
    alerts_created: list[int] = field(default_factory=list)  # new alerts: pushed
    alerts_joined: list[int] = field(default_factory=list)  # reprints: outlet added
    lost: bool = False  # it could not be stored (logged): nothing of it was written


log = logging.getLogger(__name__)

BATCH_SIZE = 100  # articles per transaction in ingest_all


def ingest(
    session: Session,
    article: Article,
    matcher: Matcher,
    stories: StoryRules | None = None,
    source_id: int | None = None,
    now: datetime | None = None,
    relevance: Relevance | None = None,
) -> Ingested:
    """Store, group and match one article. The caller commits (one article per transaction:
    on PostgreSQL the story's band locks are held until then)."""
    cleaned = clean_article(article)
    unchanged = cleaned is article  # then analyse need not clean it again (the same text)
    article = cleaned
    if not (article.title.strip() or article.text.strip()):
        return Ingested(None, False, None)
    locked: list[LockedBands] = []  # the signature, computed once: to lock, then to assign

    def lock() -> None:  # before the INSERT: see bot.store.stories (a batch at once)
        locked.append(article_bands(article, stories))
        lock_bands(session, locked[0].keys)

    stored = store_article(session, article, source_id, now, before_insert=lock)
    row = stored.row
    bind(article_id=row.id)  # the lines about this article say which (in its thread)
    if not stored.created:
        if stored.duplicate_by == "content" and row.story_id is not None and article.url:
            add_story_outlet(session, row.story_id, article.source, article.url, now)
        return Ingested(row.id, False, row.story_id)
    story = assign_story(session, stories, row, now, locked=locked[0])
    result = Ingested(row.id, True, story.story_id, story.created)
    for match in analyse(article, matcher, clean=not unchanged):
        scored = relevance.score(match, matcher, session) if relevance is not None else None
        if scored is None:  # no model for this watchlist: exactly as without the learned stage
            alert, created = record_alert(session, story.story_id, match, row.id, now)
        else:
            alert, created = record_alert(
                session,
                story.story_id,
                match,
                row.id,
                now,
                relevance=scored.relevance,
                model_version=scored.version,
                held_back=scored.held_back,
            )
        (result.alerts_created if created else result.alerts_joined).append(alert.id)
    return result


def ingest_all(
    session_factory: SessionFactory,
    articles: Iterable[Article],
    matcher: Matcher,
    stories: StoryRules | None = None,
    source_id: int | None = None,
    relevance: Relevance | None = None,
    batch_size: int = BATCH_SIZE,
) -> list[Ingested]:
    """Store the articles, ``batch_size`` to a transaction (``ingest_chunk``)."""
    items = list(articles)
    done: list[Ingested] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        done.extend(ingest_chunk(session_factory, chunk, matcher, stories, source_id, relevance))
    return done


def ingest_chunk(
    session_factory: SessionFactory,
    articles: Sequence[Article],
    matcher: Matcher,
    stories: StoryRules | None = None,
    source_id: int | None = None,
    relevance: Relevance | None = None,
) -> list[Ingested]:
    """One transaction for the articles: ``ingest_batch``; when that fails, the same
    articles one at a time, each in a SAVEPOINT (``ingest_each``), so what fails is one
    article, lost alone. The database away (a connection error, a lock timeout) raises:
    nothing of the batch is written, the caller retries it later."""
    if len(articles) == 1:  # one article: the per-article path, in its own transaction
        try:
            with session_scope(session_factory) as session:
                results = [
                    ingest(session, articles[0], matcher, stories, source_id, None, relevance)
                ]
        except Exception as exc:
            if database_away(exc):
                raise
            results = [_lost(articles[0], exc)]
        for result in results:
            metrics.ingested(result)
        return results
    lost: set[int] = set()
    try:
        with session_scope(session_factory) as session:
            results = ingest_batch(
                session, articles, matcher, stories, source_id, relevance=relevance, lost=lost
            )
    except Exception as exc:
        if database_away(exc):
            raise
        if not isinstance(exc, sql.BatchConflict):
            log.info(
                "batch of %d articles: %s; storing them one at a time", len(articles), _line(exc)
            )
        retry = [a for i, a in enumerate(articles) if i not in lost]
        with session_scope(session_factory) as session:
            again = iter(
                ingest_each(session, retry, matcher, stories, source_id, relevance=relevance)
            )
        results = [
            Ingested(None, False, None, lost=True) if i in lost else next(again)
            for i in range(len(articles))
        ]
    for result in results:
        metrics.ingested(result)  # once committed: a rolled-back article is not counted
    return results


def database_away(exc: BaseException) -> bool:
    """An error of the connection or of the server's state, not of one article: the batch
    is retried later rather than its articles dropped."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError))


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _lost(article: Article, exc: BaseException) -> Ingested:
    what = article.url or repr(article.title[:80])
    log.error("article %s not stored: %s", what, _line(exc))
    return Ingested(None, False, None, lost=True)


def ingest_each(
    session: Session,
    articles: Sequence[Article],
    matcher: Matcher,
    stories: StoryRules | None = None,
    source_id: int | None = None,
    now: datetime | None = None,
    relevance: Relevance | None = None,
) -> list[Ingested]:
    """``ingest`` each article in a SAVEPOINT of the session's transaction: one that fails
    is rolled back and lost alone (logged). On PostgreSQL the LSH bands of all of them
    are locked first (one lock over all bands, as a batch), so each article's own band
    locks cannot deadlock with another transaction's."""
    lock_all_bands(session)
    done = []
    for article in articles:
        try:
            with session.begin_nested():
                done.append(ingest(session, article, matcher, stories, source_id, now, relevance))
        except Exception as exc:
            if database_away(exc):
                raise
            done.append(_lost(article, exc))
    return done


@dataclass
class _New:
    """An article of a batch to store, with what is known of it."""

    index: int
    article: Article  # cleaned
    canonical: str | None
    u_hash: str | None
    c_hash: str
    keys: list[int] = field(default_factory=list)
    minhash: bytes | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)  # rows, in analyse's order
    sig: Any = None  # LeanMinHash, or None: too short to be compared
    story: tuple[int, int] = (0, 0)  # (0, stored story id) or (1, the batch's n-th new one)
    starts_story: bool = False
    article_id: int = 0
    story_id: int = 0


def ingest_batch(
    session: Session,
    articles: Sequence[Article],
    matcher: Matcher,
    stories: StoryRules | None = None,
    source_id: int | None = None,
    now: datetime | None = None,
    relevance: Relevance | None = None,
    lost: set[int] | None = None,
) -> list[Ingested]:
    """``ingest`` of each article, in order, in a few statements for all of them: the same
    articles, stories, alerts, outlets and outbox rows. The caller commits (on PostgreSQL
    the bands of all the batch's articles are locked until then). An article that breaks
    the Python part (cleaning, hashing, matching) is lost alone, logged; a database error
    or ``BatchConflict`` raises (``ingest_chunk`` then stores them one at a time). The
    positions of the articles lost go into ``lost`` (not tried, nor logged, again)."""
    rules = stories or DEFAULT_RULES
    now = now or utcnow()
    results: list[Ingested | None] = [None] * len(articles)
    idents: list[tuple[int, Article, bool, str | None, str | None, str]] = []
    for i, original in enumerate(articles):
        try:
            article = clean_article(original)
            if not (article.title.strip() or article.text.strip()):
                results[i] = Ingested(None, False, None)
                continue
            canonical = identity_url(article.url)
            u_hash = url_hash(canonical) if canonical else None
            idents.append(
                (i, article, article is original, canonical, u_hash, content_hash(article))
            )
        except Exception as exc:  # noqa: BLE001 - this article alone is lost
            results[i] = _lost(original, exc)
            if lost is not None:
                lost.add(i)
    stored_by_url, stored_by_content = sql.stored_duplicates(
        session, (u for *_, u, _c in idents if u is not None), (c for *_, c in idents)
    )

    # Duplicates, in order: of a stored article (its URL first), or of an earlier one of
    # the batch; the others are matched now (an article that breaks it is not stored, so
    # a later copy of it is new).
    batch_by_url: dict[str, _New] = {}
    batch_by_content: dict[str, _New] = {}
    new: list[_New] = []
    dups: list[tuple[int, Article, _New | tuple[int, int | None], bool]] = []
    for i, article, unchanged, canonical, u_hash, c_hash in idents:
        found: _New | tuple[int, int | None] | None = None
        by_url = False
        if u_hash is not None:
            found = stored_by_url.get(u_hash) or batch_by_url.get(u_hash)
            by_url = found is not None
        if found is None:
            found = stored_by_content.get(c_hash) or batch_by_content.get(c_hash)
        if found is not None:
            dups.append((i, article, found, by_url))
            continue
        item = _New(i, article, canonical, u_hash, c_hash)
        try:
            bands = article_bands(article, rules)
            sig, item.keys = bands.sig, bands.keys
            if sig is not None:
                item.minhash = signature_to_bytes(sig)
            item.alerts = _alert_rows(article, unchanged, matcher, relevance, session, now)
        except Exception as exc:  # noqa: BLE001 - this article alone is lost
            if isinstance(exc, sa_exc.SQLAlchemyError):  # the database's (relevance): the batch's
                raise
            results[i] = _lost(articles[i], exc)
            if lost is not None:
                lost.add(i)
            continue
        item.sig = sig
        new.append(item)
        if u_hash is not None:
            batch_by_url[u_hash] = item
        batch_by_content[c_hash] = item

    # Stories: the rule of assign_story, for each new article in turn, over the stored
    # candidates (one look-up for the bands of all of them) and the batch's new stories.
    all_keys = sorted({k for item in new for k in item.keys})
    if new:
        lock_all_bands(session)
    by_key_db, sigs_db = sql.candidate_stories(session, all_keys, now - rules.window)
    by_key: dict[int, list[tuple[int, int]]] = {
        k: [(0, s) for s in ids] for k, ids in by_key_db.items()
    }
    sigs: dict[tuple[int, int], Any] = {(0, s): sig for s, sig in sigs_db.items()}
    joins: dict[int, int] = {}  # stored story id → articles of the batch joining it
    new_stories: list[_New] = []  # the first article of each new story
    counts: dict[tuple[int, int], int] = {}
    for item in new:
        sig = item.sig
        best = None
        if sig is not None:  # stored stories (0, id) are older than the batch's (1, n)
            refs = dict.fromkeys(ref for key in item.keys for ref in by_key.get(key, ()))
            best = best_story(sig, ((ref, sigs[ref]) for ref in refs), rules.threshold)
        if best is not None:
            item.story = best.story_id
            if item.story[0] == 0:
                joins[item.story[1]] = joins.get(item.story[1], 0) + 1
            else:
                counts[item.story] += 1
            continue
        item.story, item.starts_story = (1, len(new_stories)), True
        new_stories.append(item)
        counts[item.story] = 1
        if sig is not None:
            sigs[item.story] = sig
            for key in item.keys:
                by_key.setdefault(key, []).append(item.story)

    # The writes: stories, articles, bands, alerts, outlets, outbox rows.
    sql.join_stories(session, joins, now)
    story_ids = sql.insert_stories(
        session,
        [
            {
                "first_article_id": None,
                "title": item.article.title,
                "article_count": counts[item.story],
                "minhash": item.minhash,
                "created_at": now,
                "updated_at": now,
            }
            for item in new_stories
        ],
    )
    for item in new:
        is_new, number = item.story
        item.story_id = story_ids[number] if is_new else number
    ids = sql.insert_articles(session, [_article_row(item, source_id, now) for item in new])
    for item in new:
        item.article_id = ids[item.c_hash]
    sql.set_first_articles(session, [(item.story_id, item.article_id) for item in new_stories])
    sql.insert_bands(session, [(k, item.story_id) for item in new_stories for k in item.keys], now)
    tried: dict[tuple[int, str], dict[str, Any]] = {}
    for item in new:
        for row in item.alerts:
            row["story_id"], row["article_id"] = item.story_id, item.article_id
            tried.setdefault((item.story_id, row["watchlist"]), row)
    created, existing = sql.insert_alerts(session, list(tried.values()))
    first_of = {key: id(row) for key, row in tried.items()}
    # the alerts each story had when an article repeating one of its articles came
    dup_stories = {}
    for i, _article, found, _by_url in dups:
        story = found.story_id if isinstance(found, _New) else found[1]
        if story is not None:
            dup_stories[i] = story
    made_by: dict[int, int] = {}  # alert id → index of the article that created it
    outlets: list[dict[str, Any]] = []
    pushes: list[tuple[int, str]] = []
    events: list[tuple[int, int, Any]] = [(item.index, 0, item) for item in new]
    events += [(d[0], 1, d) for d in dups]
    story_alerts = sql.alerts_of_stories(session, dup_stories.values())
    for i, kind, event in sorted(events, key=lambda e: e[0]):
        if kind == 0:
            item = event
            result = Ingested(item.article_id, True, item.story_id, item.starts_story)
            for row in item.alerts:
                pair = (item.story_id, row["watchlist"])
                alert_id = created.get(pair) or existing[pair]
                if pair in created and first_of[pair] == id(row):
                    made_by[alert_id] = i
                    result.alerts_created.append(alert_id)
                    if not row["held_back"]:
                        pushes.append((alert_id, row["watchlist"]))
                else:
                    result.alerts_joined.append(alert_id)
                outlets.append(_outlet_row(alert_id, item.article, item.article_id, now))
            results[i] = result
            continue
        _i, article, found, by_url = event
        story_id: int | None
        if isinstance(found, _New):
            article_id, story_id = found.article_id, found.story_id
        else:
            article_id, story_id = found
        results[i] = Ingested(article_id, False, story_id)
        if not by_url and story_id is not None and article.url:
            name = outlet_name(article.source, article.url)
            for alert_id, of_story in story_alerts:
                if of_story == story_id and made_by.get(alert_id, -1) < i:
                    outlets.append(outlet_values(alert_id, name, article.url, None, now))
    sql.insert_outlets(session, outlets)
    sql.enqueue_batch(session, pushes, now)
    return [r if r is not None else Ingested(None, False, None) for r in results]


def _alert_rows(
    article: Article,
    unchanged: bool,
    matcher: Matcher,
    relevance: Relevance | None,
    session: Session,
    now: datetime,
) -> list[dict[str, Any]]:
    """The alert rows ``record_alert`` would write for the article's matches (story and
    article ids filled in later)."""
    rows = []
    for match in analyse(article, matcher, clean=not unchanged):
        scored = relevance.score(match, matcher, session) if relevance is not None else None
        if scored is None:
            rows.append(alert_values(match, now))
        else:
            rows.append(
                alert_values(match, now, scored.relevance, scored.version, scored.held_back)
            )
    return rows


def _article_row(item: _New, source_id: int | None, now: datetime) -> dict[str, Any]:
    article = item.article
    return {
        **article_values(article, item.canonical, item.u_hash, item.c_hash, source_id, now),
        # column defaults fill these in the one-at-a-time INSERT; the unnest one names them
        "search_title": search_title(article.title),
        "search_text": search_text(article.text),
        "story_id": item.story_id,
    }


def _outlet_row(alert_id: int, article: Article, article_id: int, now: datetime) -> dict[str, Any]:
    source, url = article.source[:200], article.url  # the stored row's, as record_alert reads
    return outlet_values(alert_id, outlet_name(source, url), url, article_id, now)
