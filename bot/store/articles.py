"""Articles: each stored once, by canonical URL and by content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from bot.engine.text import tokens
from bot.models import Article
from bot.store._sql import orm_insert
from bot.store.tables import ArticleRow, utcnow
from bot.urls import canonical_url

DuplicateBy = Literal["url", "content"]


@dataclass(frozen=True)
class StoredArticle:
    """The outcome of ``store_article``.

    ``created`` is False when the article was already stored; ``row`` is then
    the stored one and ``duplicate_by`` says which key matched.
    """

    row: ArticleRow
    created: bool
    duplicate_by: DuplicateBy | None = None

    @property
    def id(self) -> int:
        return self.row.id


def identity_url(url: str) -> str | None:
    """The canonical URL that identifies an article, or None (no web URL)."""
    canonical = canonical_url(url) if url else ""
    return canonical if canonical.startswith(("http://", "https://")) else None


def url_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def content_hash(article: Article) -> str:
    """SHA-256 of the normalised title and text (case, punctuation, spacing ignored).

    Raises ValueError for an article with neither title nor text.
    """
    title, text = " ".join(tokens(article.title)), " ".join(tokens(article.text))
    if not title and not text:  # nothing the normaliser keeps: hash the raw text
        title, text = article.title.strip(), " ".join(article.text.split())
    if not title and not text:
        raise ValueError("an article needs a title or a text")
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()


def parse_published(value: str) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive ones are UTC); None if invalid."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def find_duplicate(session: Session, article: Article) -> tuple[ArticleRow, DuplicateBy] | None:
    """The stored article with the same canonical URL (first) or content, if any."""
    canonical = identity_url(article.url)
    return _find(session, url_hash(canonical) if canonical else None, content_hash(article))


# Built once: building a statement costs more Python than running it on SQLite. A
# NULL url_hash compares as unknown, so without a URL only the content can match.
_FIND = select(ArticleRow).where(
    or_(ArticleRow.url_hash == bindparam("u_hash"), ArticleRow.content_hash == bindparam("c_hash"))
)
_INSERT: dict[str, Any] = {}  # by dialect: INSERT … ON CONFLICT DO NOTHING RETURNING the row


def _insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    stmt = _INSERT.get(name)
    if stmt is None:
        stmt = _INSERT[name] = (
            orm_insert(session, ArticleRow).on_conflict_do_nothing().returning(ArticleRow)
        )
    return stmt


def _find(
    session: Session, u_hash: str | None, c_hash: str
) -> tuple[ArticleRow, DuplicateBy] | None:
    rows = session.scalars(_FIND, {"u_hash": u_hash, "c_hash": c_hash}).all()
    for row in rows:
        if u_hash is not None and row.url_hash == u_hash:
            return row, "url"
    return (rows[0], "content") if rows else None


def article_values(
    article: Article,
    canonical: str | None,
    u_hash: str | None,
    c_hash: str,
    source_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    """A new article row's values (one at a time here, a batch's in the pipeline)."""
    return {
        "canonical_url": canonical,
        "url_hash": u_hash,
        "content_hash": c_hash,
        "url": article.url,
        "title": article.title,
        "text": article.text,
        "source_name": article.source[:200],
        "source_id": source_id,
        "published_at": parse_published(article.published),
        "fetched_at": now,
    }


def store_article(
    session: Session,
    article: Article,
    source_id: int | None = None,
    now: datetime | None = None,
    before_insert: Callable[[], None] | None = None,
) -> StoredArticle:
    """Store ``article`` unless an article with its canonical URL or content is stored.
    ``before_insert`` is called when it is not, just before it is (the pipeline takes its
    story locks there).

    Safe against concurrent writers: the unique keys decide, and the loser
    gets the stored row back with ``created=False``. Articles without a web
    URL (files, stdin) are identified by their content alone.
    """
    canonical = identity_url(article.url)
    u_hash = url_hash(canonical) if canonical else None
    c_hash = content_hash(article)
    found = _find(session, u_hash, c_hash)
    if found is not None:
        return StoredArticle(found[0], False, found[1])
    if before_insert is not None:
        before_insert()
    # ON CONFLICT DO NOTHING RETURNING the row itself: the new row comes back in the
    # INSERT's own answer (it used to be read back with a SELECT), already in the session
    row = session.scalars(
        _insert(session),
        [article_values(article, canonical, u_hash, c_hash, source_id, now or utcnow())],
    ).one_or_none()
    if row is None:  # another writer stored it between our look and our insert
        found = _find(session, u_hash, c_hash)
        if found is None:  # pragma: no cover - the conflicting row was rolled back
            raise RuntimeError("article conflicted with a row that no longer exists")
        return StoredArticle(found[0], False, found[1])
    return StoredArticle(row, True)


def get_article(session: Session, article_id: int) -> ArticleRow | None:
    return session.get(ArticleRow, article_id)


def as_article(row: ArticleRow) -> Article:
    """The plain ``Article`` of a stored row (for matching and story assignment)."""
    return Article(
        title=row.title,
        text=row.text,
        url=row.url,
        source=row.source_name,
        published=row.published_at.isoformat() if row.published_at else "",
    )
