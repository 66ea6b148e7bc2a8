"""Stories in the database: load the recent ones into a ``StoryIndex``, assign articles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from datasketch import LeanMinHash
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from bot.engine.stories import WINDOW, StoryIndex, signature_to_bytes
from bot.store.articles import as_article
from bot.store.tables import ArticleRow, Story, utcnow

# Stories created this recently are re-read on refresh even when their id is
# below the highest one seen: ids of concurrent transactions commit out of order.
REFRESH_OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class StoryAssignment:
    story_id: int
    created: bool  # True: the article started a new story
    similarity: float = 0.0


def load_story_index(
    session: Session, now: datetime | None = None, window: timedelta = WINDOW
) -> StoryIndex:
    """A ``StoryIndex`` of the stories created within ``window`` before ``now``."""
    index = StoryIndex(window=window)
    refresh_story_index(session, index, now)
    return index


def refresh_story_index(session: Session, index: StoryIndex, now: datetime | None = None) -> int:
    """Add stories stored since the index last looked (by other replicas); returns how many."""
    now = now or utcnow()
    cutoff = now - index.window
    recent = now - REFRESH_OVERLAP
    rows = session.execute(
        select(Story.id, Story.minhash, Story.created_at)
        .where(Story.created_at >= cutoff)
        .where(or_(Story.id > index.max_story_id, Story.created_at >= recent))
        .order_by(Story.id)
    )
    return index.add_stored((story_id, data, created) for story_id, data, created in rows)


def assign_story(
    session: Session, index: StoryIndex, row: ArticleRow, now: datetime | None = None
) -> StoryAssignment:
    """Put a stored article into its story: a recent near-duplicate's, or a new one.

    Sets ``row.story_id``; a new story keeps the article's signature and is
    added to ``index``. Call it in the transaction that stored the article.
    """
    now = now or utcnow()
    if row.story_id is not None:
        return StoryAssignment(row.story_id, False, 1.0)
    lookup = index.lookup(as_article(row), now)
    if lookup.story_id is not None:
        joined = session.execute(
            update(Story)
            .where(Story.id == lookup.story_id)
            .values(article_count=Story.article_count + 1, updated_at=now)
            .returning(Story.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if joined is not None:
            row.story_id = joined
            session.flush()
            return StoryAssignment(joined, False, lookup.similarity)
        index.discard(lookup.story_id)  # deleted meanwhile (retention)
    story = Story(
        first_article_id=row.id,
        title=row.title,
        article_count=1,
        minhash=signature_to_bytes(lookup.signature) if lookup.signature is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(story)
    session.flush()
    row.story_id = story.id
    session.flush()
    if lookup.signature is not None:
        _index_after_commit(session, index, story.id, lookup.signature, now)
    return StoryAssignment(story.id, True)


_PENDING = "bot.store.stories.pending"


def _index_after_commit(
    session: Session, index: StoryIndex, story_id: int, sig: LeanMinHash, now: datetime
) -> None:
    """Add the new story to ``index`` once its transaction commits (never if it rolls back).

    Until then, later articles in the same transaction do not see it: commit
    after each article.
    """
    pending: list[tuple[StoryIndex, int, LeanMinHash, datetime]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _add_pending)
        event.listen(session, "after_rollback", _drop_pending)
    pending.append((index, story_id, sig, now))


def _add_pending(session: Session) -> None:
    for index, story_id, sig, created_at in session.info.get(_PENDING, []):
        index.add(story_id, sig, created_at)
    session.info[_PENDING] = []


def _drop_pending(session: Session) -> None:
    session.info[_PENDING] = []


def story_articles(session: Session, story_id: int) -> list[ArticleRow]:
    """The articles of a story, oldest first."""
    return list(
        session.scalars(
            select(ArticleRow).where(ArticleRow.story_id == story_id).order_by(ArticleRow.id)
        )
    )
