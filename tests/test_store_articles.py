"""Articles are stored once: by canonical URL and by content hash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.models import Article
from bot.store.articles import content_hash, find_duplicate, parse_published, store_article
from bot.store.db import SessionFactory
from bot.store.sources import add_source
from bot.store.tables import ArticleRow

ART = Article(
    title="Belarus moves armoured convoy towards Polish border",
    text="Belarus has moved an armoured convoy of about 40 vehicles towards its border.",
    url="https://news.example/world/convoy?utm_source=rss",
    source="News Example",
    published="2026-03-10T09:30:00+01:00",
)


def _count(db: SessionFactory) -> int:
    with db() as s:
        return s.scalar(select(func.count()).select_from(ArticleRow)) or 0


def test_store_article_keeps_its_fields(db: SessionFactory) -> None:
    with db.begin() as s:
        source = add_source(s, "News Example", "https://news.example/rss", "rss")
        stored = store_article(s, ART, source_id=source.id)
        assert stored.created and stored.duplicate_by is None
        article_id = stored.id
    with db() as s:
        row = s.get(ArticleRow, article_id)
        assert row is not None
        assert row.canonical_url == "https://news.example/world/convoy"
        assert row.url == ART.url
        assert row.title == ART.title and row.text == ART.text
        assert row.source_name == "News Example" and row.source_id == source.id
        assert row.published_at == datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
        assert row.story_id is None


def test_same_canonical_url_is_stored_once(db: SessionFactory) -> None:
    with db.begin() as s:
        first = store_article(s, ART)
    updated = Article(
        title=ART.title + " (updated)",
        text=ART.text + " Poland reinforced patrols.",
        url="HTTPS://NEWS.EXAMPLE:443/world/convoy/?fbclid=x#top",
    )
    with db.begin() as s:
        again = store_article(s, updated)
    assert not again.created and again.duplicate_by == "url" and again.id == first.id
    assert _count(db) == 1


def test_same_content_at_another_url_is_stored_once(db: SessionFactory) -> None:
    with db.begin() as s:
        first = store_article(s, ART)
    copy = Article(
        title=ART.title.upper(),
        text="  " + ART.text.replace(" ", "  ") + "\n",
        url="https://mirror.example/copy/123",
        source="Mirror",
    )
    with db.begin() as s:
        again = store_article(s, copy)
    assert not again.created and again.duplicate_by == "content" and again.id == first.id
    assert _count(db) == 1


def test_articles_without_a_web_url_are_identified_by_content(db: SessionFactory) -> None:
    a = Article(title="Report one", text="Troops crossed.", url="/inbox/report.txt")
    b = Article(title="Report two", text="Troops returned.", url="/inbox/report.txt")
    with db.begin() as s:
        ra, rb = store_article(s, a), store_article(s, b)
        assert ra.created and rb.created
        assert ra.row.canonical_url is None and ra.row.url_hash is None
        assert store_article(s, a).duplicate_by == "content"
    assert _count(db) == 2


def test_find_duplicate(db: SessionFactory) -> None:
    with db.begin() as s:
        assert find_duplicate(s, ART) is None
        store_article(s, ART)
        found = find_duplicate(
            s, Article(title="x", text="y", url="https://news.example/world/convoy")
        )
        assert found is not None and found[1] == "url"


def test_content_hash_ignores_case_punctuation_and_spacing() -> None:
    a = Article(title="Troops, on the move!", text="Convoy seen near Brest.")
    b = Article(title="troops on the move", text="convoy   seen\nnear brest")
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(Article(title=a.title, text="Convoy seen near Minsk."))
    assert content_hash(Article(title="🙂", text="")) != content_hash(Article(title="🙃", text=""))
    with pytest.raises(ValueError):
        content_hash(Article(title=" ", text=""))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-10T09:30:00Z", datetime(2026, 3, 10, 9, 30, tzinfo=UTC)),
        ("2026-03-10T09:30:00", datetime(2026, 3, 10, 9, 30, tzinfo=UTC)),
        ("2026-03-10", datetime(2026, 3, 10, tzinfo=UTC)),
        ("", None),
        ("last Tuesday", None),
    ],
)
def test_parse_published(value: str, expected: datetime | None) -> None:
    assert parse_published(value) == expected


def test_feed_entries_without_a_link_are_each_stored(db: SessionFactory) -> None:
    """Three link-less entries of a feed stored one article (the feed URL was theirs)."""
    from bot.ingest import parse_feed

    items = "".join(
        f"<item><title>Convoy {n} at the border</title><description>Report {n}.</description>"
        + (f"<guid isPermaLink='false'>id-{n}</guid>" if n == 2 else "")
        + "</item>"
        for n in range(3)
    )
    body = f"<rss version='2.0'><channel><title>Desk</title>{items}</channel></rss>".encode()
    articles = parse_feed(body, "https://desk.example/feed.xml").articles
    with db.begin() as s:
        created = [store_article(s, a).created for a in articles]
        again = [store_article(s, a).created for a in articles]  # the next poll
    assert created == [True, True, True] and again == [False, False, False]
    assert _count(db) == 3
