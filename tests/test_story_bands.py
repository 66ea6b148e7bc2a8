"""Stories decided in the database: the same stories as the in-memory index, across writers."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from newswire import wire
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from test_stories import NOW, OTHERS, REPRINTS, WIRE

from bot.engine.matcher import Matcher
from bot.engine.stories import StoryIndex, StoryRules, signature
from bot.models import Article
from bot.runtime.pipeline import ingest_batch
from bot.store.articles import store_article
from bot.store.db import SessionFactory
from bot.store.stories import assign_story


def _corpus() -> list[Article]:
    """Reports, reprints, and partial rewrites spread across the threshold."""
    rng = random.Random(3)
    out = [WIRE, *REPRINTS, *OTHERS]
    for item in wire(40, 30, seed=11):
        out.append(
            Article(
                title=item.article["title"],
                text=item.article["text"],
                url=item.article["url"],
                source=item.article["source"],
            )
        )
    # rewrites of 0…8 of 8 paragraphs: similarities from ~0.9 down to ~0
    for n, base in enumerate(out[8:28]):
        paragraphs = base.text.split("\n")
        for k in rng.sample(range(len(paragraphs)), n % (len(paragraphs) + 1)):
            paragraphs[k] = " ".join(reversed(paragraphs[k].split()))
        out.append(
            Article(
                title=f"Rewrite {n}",
                text="\n".join(paragraphs),
                url=f"https://rewrite.example/{n}",
                source="Rewrites",
            )
        )
    out.append(Article(title="Short", text="Too short to compare.", url="https://s.example/1"))
    return out


def _partition(assigned: list[int | None]) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for n, story in enumerate(assigned):
        assert story is not None
        groups.setdefault(story, []).append(n)
    return sorted(groups.values())


def test_the_database_makes_the_stories_the_in_memory_index_makes(db: SessionFactory) -> None:
    articles = _corpus()
    index, in_memory = StoryIndex(), []
    for n, art in enumerate(articles):
        lookup = index.lookup(art, NOW + timedelta(minutes=n))
        story = lookup.story_id if lookup.story_id is not None else 1000 + n
        if lookup.story_id is None and lookup.signature is not None:
            index.add(story, lookup.signature, NOW + timedelta(minutes=n))
        in_memory.append(story)
    stored = []
    for n, art in enumerate(articles):
        with db.begin() as s:
            row = store_article(s, art, now=NOW).row
            stored.append(assign_story(s, StoryRules(), row, NOW + timedelta(minutes=n)).story_id)
    joined = sum(len(g) - 1 for g in _partition(in_memory))
    assert joined >= 30  # the corpus has joins to agree on, and misses
    assert _partition(stored) == _partition(in_memory)


def _waiting_advisory_locks(admin: Engine, pid: int) -> int:
    with admin.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid = :p"
                ),
                {"p": pid},
            ).scalar_one()
        )


def test_two_writers_at_once_make_one_story_of_two_outlets(
    engine: Engine, db: SessionFactory
) -> None:
    """The second outlet's transaction waits on the first's bands, then joins its story
    (two processes, each with nothing in memory, both in flight)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing runs at once")
    assert signature(WIRE).jaccard(signature(REPRINTS[0])) >= StoryRules().threshold
    admin = create_engine(engine.url)
    result: dict[str, int] = {}
    second_pid: list[int] = []
    started = threading.Event()

    def second() -> None:
        with db.begin() as s:
            second_pid.append(
                s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            )
            started.set()
            row = store_article(s, REPRINTS[0], now=NOW).row
            result["second"] = assign_story(s, StoryRules(), row, NOW).story_id

    with db.begin() as s:
        row = store_article(s, WIRE, now=NOW).row
        result["first"] = assign_story(s, StoryRules(), row, NOW).story_id
        thread = threading.Thread(target=second)
        thread.start()
        assert started.wait(10)
        # the first transaction is still open: the second must be waiting on a band lock
        for _ in range(200):
            if _waiting_advisory_locks(admin, second_pid[0]):
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second writer did not wait for the first's story bands")
    thread.join(10)
    admin.dispose()
    assert result["second"] == result["first"]


def test_a_batch_makes_the_stories_the_in_memory_index_makes(db: SessionFactory) -> None:
    """The batch's story decisions (one look-up for all its articles, its own new stories
    as candidates of its later articles) are those of the index, article after article."""
    articles = _corpus()
    index, in_memory = StoryIndex(), []
    for n, art in enumerate(articles):
        lookup = index.lookup(art, NOW)
        story = lookup.story_id if lookup.story_id is not None else 1000 + n
        if lookup.story_id is None and lookup.signature is not None:
            index.add(story, lookup.signature, NOW)
        in_memory.append(story)
    nothing = Matcher([])
    half = len(articles) // 2  # the second batch's candidates are stored ones too
    with db.begin() as s:
        stored = [r.story_id for r in ingest_batch(s, articles[:half], nothing, now=NOW)]
    with db.begin() as s:
        stored += [r.story_id for r in ingest_batch(s, articles[half:], nothing, now=NOW)]
    assert _partition(stored) == _partition(in_memory)


@pytest.mark.parametrize("first", ["batch", "one article"])
def test_a_batch_and_a_one_article_writer_at_once_make_one_story(
    engine: Engine, db: SessionFactory, first: str
) -> None:
    """Whichever holds the story bands first, the other waits for its commit, then joins
    its story."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing runs at once")
    nothing = Matcher([])
    admin = create_engine(engine.url)
    result: dict[str, int | None] = {}
    second_pid: list[int] = []
    started = threading.Event()

    def write(s: Session, article: Article, batch: bool) -> int | None:
        if batch:
            return ingest_batch(s, [OTHERS[0], article], nothing, now=NOW)[1].story_id
        row = store_article(s, article, now=NOW).row
        return assign_story(s, StoryRules(), row, NOW).story_id

    def second() -> None:
        with db.begin() as s:
            second_pid.append(
                s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            )
            started.set()
            result["second"] = write(s, REPRINTS[0], first != "batch")

    with db.begin() as s:
        result["first"] = write(s, WIRE, first == "batch")
        thread = threading.Thread(target=second)
        thread.start()
        assert started.wait(10)
        for _ in range(200):
            if _waiting_advisory_locks(admin, second_pid[0]):
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second writer did not wait for the first's story bands")
    thread.join(10)
    admin.dispose()
    assert result["first"] is not None and result["second"] == result["first"]
