"""A poll's articles stored in batches: the same rows as one at a time, a bad one lost alone."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from test_pipeline import OTHER_STORY, REPRINT_1, REPRINT_2, WIRE

from bot.engine.matcher import Matcher
from bot.engine.stories import StoryRules
from bot.engine.watchlist import load_dir
from bot.models import Article
from bot.runtime import pipeline
from bot.runtime.pipeline import Ingested, ingest, ingest_all
from bot.store import session_scope, subscribe, upsert_chat
from bot.store.db import make_session_factory
from bot.store.tables import Base

WATCHLISTS = Path(__file__).resolve().parent.parent / "watchlists"

# What is compared: every row the pipeline writes, ids included.
TABLES = {
    "articles": "id, canonical_url, url_hash, content_hash, url, title, text, search_title, "
    "search_text, source_name, source_id, published_at, story_id",
    "stories": "id, first_article_id, title, article_count, minhash",
    "story_bands": "band_key, story_id",
    "alerts": "id, story_id, watchlist, article_id, score, summary, hits, score_parts, rule, "
    "held_back",
    "alert_outlets": "id, alert_id, outlet, url, article_id",
    "deliveries": "id, subscription_id, alert_id, status, attempts",
}


@pytest.fixture
def matcher() -> Matcher:
    watchlists, errors = load_dir(WATCHLISTS)
    assert not errors
    return Matcher(watchlists)


def _poll() -> list[Article]:
    """Reports, their reprints, repeats by URL and by content, inside and across batches."""
    wire = Article("Russian troops arrive in Gomel for drills", WIRE, "https://a.example/1", "A")
    other = Article("Military convoy heads for the border", OTHER_STORY, "https://a.example/2", "A")
    return [
        wire,
        Article(
            "Hundreds of Russian troops arrive in Belarus", REPRINT_1, "https://b.example/x", "B"
        ),
        Article(wire.title, wire.text, "https://A.example/1?utm_source=tw#top", "A"),  # its URL
        Article("", "   "),  # nothing to store
        Article(wire.title, wire.text, "https://d.example/copy", "Paper D"),  # its content
        other,
        Article("Russian soldiers reach Gomel", REPRINT_2, "https://c.example/77", "Site C"),
        Article(other.title, other.text, "https://e.example/same", "Paper E"),  # content
        Article("Weather", "Sunny spells and light winds expected across the region today."),
        Article(wire.title, wire.text, "https://a.example/1", "A"),  # its URL, a later batch
        Article(other.title, other.text + " Reported by F.", "https://f.example/2", "F"),
    ]


def _subscribe_all(engine: Engine, matcher: Matcher) -> None:
    with session_scope(make_session_factory(engine)) as s:
        for n, wl in enumerate(matcher.watchlists):
            subscribe(s, upsert_chat(s, "console", f"console:{n}").id, wl.name)


# Which table each id column points into. PostgreSQL spends a sequence value on an INSERT
# that conflicts (a reprint's alert, one at a time), so ids are compared by rank: the n-th
# alert is the n-th alert, and what points at it points at the n-th.
REFERS = {"story_id": "stories", "article_id": "articles", "alert_id": "alerts"}
IDS = ("articles", "stories", "alerts", "alert_outlets", "deliveries")


def _rows(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        raw = {
            table: [dict(r._mapping) for r in conn.execute(text(f"SELECT {cols} FROM {table}"))]
            for table, cols in TABLES.items()
        }
    ranks: dict[str, dict[Any, Any]] = {
        t: {row["id"]: n for n, row in enumerate(sorted(raw[t], key=lambda r: r["id"]))}
        for t in IDS
    }
    out: dict[str, Any] = {}
    for table, rows in raw.items():
        renumbered = []
        for row in rows:
            if table in IDS:
                row["id"] = ranks[table][row["id"]]
            for column, target in REFERS.items():
                if column in row and row[column] is not None:
                    row[column] = ranks[target][row[column]]
            if row.get("first_article_id") is not None:
                row["first_article_id"] = ranks["articles"][row["first_article_id"]]
            renumbered.append(tuple(row.values()))
        out[table] = sorted(renumbered, key=repr)
    out["ranks"] = ranks
    return out


def _empty(engine: Engine) -> None:
    """Every row gone and the ids starting at 1 again."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
            return
        for name in names:
            conn.execute(text(f"DELETE FROM {name}"))
        if conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first():
            conn.execute(text("DELETE FROM sqlite_sequence"))


def _summary(results: list[Ingested], ranks: Any = None) -> list[tuple[Any, ...]]:
    """What each article gave (ids by rank when ``ranks``, see ``_rows``)."""

    def rank(table: str, value: Any) -> Any:
        return ranks[table].get(value, value) if ranks else value

    return [
        (
            rank("articles", r.article_id),
            r.stored,
            rank("stories", r.story_id),
            r.new_story,
            [rank("alerts", a) for a in r.alerts_created],
            [rank("alerts", a) for a in r.alerts_joined],
            r.lost,
        )
        for r in results
    ]


def _one_at_a_time(engine: Engine, articles: list[Article], matcher: Matcher) -> list[Ingested]:
    factory, rules, done = make_session_factory(engine), StoryRules(), []
    for article in articles:
        with session_scope(factory) as s:
            done.append(ingest(s, article, matcher, rules))
    return done


def test_batches_store_the_same_rows_stories_and_alerts_as_one_at_a_time(
    engine: Engine, matcher: Matcher, caplog: pytest.LogCaptureFixture
) -> None:
    articles = _poll()
    _subscribe_all(engine, matcher)
    one = _one_at_a_time(engine, articles, matcher)
    expected = _rows(engine)
    one_summary = _summary(one, expected.pop("ranks"))
    assert len(expected["alerts"]) >= 2 and len(expected["deliveries"]) >= 2
    assert len(expected["alert_outlets"]) > len(expected["alerts"])  # reprints and copies
    _empty(engine)
    _subscribe_all(engine, matcher)
    caplog.set_level(logging.INFO)
    # batches of 4: repeats of an article of the same batch and of one stored before
    batched = ingest_all(
        make_session_factory(engine), articles, matcher, StoryRules(), batch_size=4
    )
    assert not _lines_about(caplog, "one at a time")  # the batches were not redone
    got = _rows(engine)
    batched_summary = _summary(batched, got.pop("ranks"))
    assert got == expected
    assert batched_summary == one_summary


def test_repeats_in_one_batch_and_of_the_store_are_found(engine: Engine, matcher: Matcher) -> None:
    factory = make_session_factory(engine)
    wire = Article("Russian troops arrive in Gomel for drills", WIRE, "https://a.example/1", "A")
    first, by_url, by_content = ingest_all(
        factory,
        [
            wire,
            Article(wire.title, wire.text, "https://a.example/1?utm_medium=x", "A"),
            Article(wire.title, wire.text, "https://d.example/copy", "D"),
        ],
        matcher,
    )
    assert first.stored and first.alerts_created
    assert (by_url.stored, by_url.article_id) == (False, first.article_id)
    assert (by_content.stored, by_content.article_id) == (False, first.article_id)
    again, copy, new = ingest_all(
        factory,
        [
            wire,
            Article(wire.title.upper(), wire.text, "https://e.example/3", "E"),
            Article("Military convoy heads for the border", OTHER_STORY, "https://a.example/2"),
        ],
        matcher,
    )
    assert (again.stored, again.article_id) == (False, first.article_id)
    assert (copy.stored, copy.article_id) == (False, first.article_id)  # same words, other case
    assert new.stored and new.story_id != first.story_id
    with engine.connect() as conn:
        outlets = conn.execute(text("SELECT outlet FROM alert_outlets ORDER BY id")).scalars().all()
    assert outlets[: len(first.alerts_created)] == ["A"] * len(first.alerts_created)
    assert set(outlets) >= {"A", "D", "E"}  # the copies' outlets joined the story's alerts


def _lines_about(caplog: pytest.LogCaptureFixture, what: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if what in r.getMessage()]


def test_an_article_that_breaks_the_matcher_is_lost_alone(
    engine: Engine,
    matcher: Matcher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = pipeline.analyse

    def analyse(article: Article, *args: Any, **kwargs: Any) -> Any:
        if article.title == "poison":
            raise ValueError("the matcher broke")
        return real(article, *args, **kwargs)

    monkeypatch.setattr(pipeline, "analyse", analyse)
    articles = _poll()
    articles.insert(2, Article("poison", "A text the matcher cannot read.", "https://x.example/p"))
    caplog.set_level(logging.INFO)
    results = ingest_all(make_session_factory(engine), articles, matcher, batch_size=20)
    lost = [r for r in results if r.lost]
    assert len(lost) == 1 and results[2].lost and results[2].article_id is None
    (line,) = _lines_about(caplog, "https://x.example/p")
    assert line.levelno == logging.ERROR and "the matcher broke" in line.getMessage()
    ranks = _rows(engine)["ranks"]
    expected = _alone(engine, articles[:2] + articles[3:], matcher)
    assert _summary(results[:2] + results[3:], ranks) == expected


def _alone(engine: Engine, articles: list[Article], matcher: Matcher) -> list[tuple[Any, ...]]:
    """What storing ``articles`` one at a time in an empty database gives (then emptied)."""
    _empty(engine)
    done = _one_at_a_time(engine, articles, matcher)
    ranks = _rows(engine)["ranks"]
    _empty(engine)
    return _summary(done, ranks)


REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON articles WHEN NEW.title = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.title = 'poison' THEN RAISE EXCEPTION 'poison refused'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON articles "
        "FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
    ],
}
UNREFUSE = {
    "sqlite": ["DROP TRIGGER refuse_poison"],
    "postgresql": ["DROP TRIGGER refuse_poison ON articles", "DROP FUNCTION refuse_poison()"],
}


def test_an_article_the_database_refuses_is_lost_alone_and_named_once(
    engine: Engine,
    matcher: Matcher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = pipeline.analyse

    def analyse(article: Article, *args: Any, **kwargs: Any) -> Any:
        if article.title == "broken":
            raise ValueError("the matcher broke")
        return real(article, *args, **kwargs)

    articles = _poll()
    articles.insert(3, Article("poison", "Refused by the database.", "https://x.example/p"))
    articles.insert(6, Article("broken", "Breaks the matcher.", "https://x.example/b"))
    good = [a for a in articles if a.title not in ("poison", "broken")]
    expected = _alone(engine, good, matcher)
    monkeypatch.setattr(pipeline, "analyse", analyse)
    backend = engine.dialect.name
    with engine.begin() as conn:
        for statement in REFUSE[backend]:
            conn.execute(text(statement))
    try:
        caplog.set_level(logging.INFO)
        results = ingest_all(make_session_factory(engine), articles, matcher, batch_size=20)
    finally:
        with engine.begin() as conn:
            for statement in UNREFUSE[backend]:
                conn.execute(text(statement))
    assert [i for i, r in enumerate(results) if r.lost] == [3, 6]
    (refused,) = _lines_about(caplog, "https://x.example/p")
    assert refused.levelno == logging.ERROR and "poison refused" in refused.getMessage()
    (broken,) = _lines_about(caplog, "https://x.example/b")  # once, though the batch was redone
    assert broken.levelno == logging.ERROR and "the matcher broke" in broken.getMessage()
    kept = [r for r in results if not r.lost]
    assert _summary(kept, _rows(engine)["ranks"]) == expected
    with engine.connect() as conn:
        titles = conn.execute(text("SELECT title FROM articles")).scalars().all()
    assert "poison" not in titles and len(titles) == sum(r.stored for r in results)


def test_the_database_away_loses_nothing(engine: Engine, matcher: Matcher) -> None:
    """A connection that fails is not a bad article: the batch raises, nothing is written,
    and the same articles stored again later are all there."""
    from sqlalchemy.exc import OperationalError

    factory = make_session_factory(engine)
    articles = _poll()

    def away(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline.sql, "candidate_stories", away)
        with pytest.raises(OperationalError):
            ingest_all(factory, articles, matcher)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM articles")).scalar() == 0
    results = ingest_all(factory, articles, matcher)
    assert not any(r.lost for r in results)
    assert sum(r.stored for r in results) == len(_rows(engine)["articles"]) > 0
