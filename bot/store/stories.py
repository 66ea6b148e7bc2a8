"""Stories in the database: an article joins a recent near-duplicate's story, or starts one.

The decision is made in the database, in the article's transaction, so
replicas that see the outlets of one report in any order make one story:
the article's LSH band keys (``bot.engine.stories.band_keys``) find the
candidate stories in ``story_bands``; the most similar one within the
window at or above the threshold is joined (``best_story``, the rule of the
in-memory ``StoryIndex``); otherwise a new story is stored with its bands.
On PostgreSQL the article's bands are locked first (advisory transaction
locks, one per band), so two transactions whose articles could be
candidates of each other take turns, and the second sees the first's story.
A batch of articles (``bot.runtime.pipeline.ingest_batch``) would need thousands of
those locks (32 per article: PostgreSQL's lock table holds 64 per connection), so it
takes one lock over all bands instead (:func:`lock_all_bands`), which one-article
transactions hold shared (:func:`lock_bands`), taken before they store the article
(so a batch and one of them storing the same article at once cannot deadlock): a
batch waits for them, they wait for the batch, and two of them still only wait for
each other when they share a band.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from datasketch import LeanMinHash
from sqlalchemy import CursorResult, delete, insert, select, update
from sqlalchemy.orm import Session

from bot.engine.stories import (
    NUM_PERM,
    StoryRules,
    article_signature,
    band_keys,
    best_story,
    signature_from_bytes,
    signature_to_bytes,
)
from bot.models import Article
from bot.store.articles import as_article
from bot.store.locks import xact_lock, xact_lock_one
from bot.store.tables import ArticleRow, Story, StoryBand, utcnow

DEFAULT_RULES = StoryRules()


@dataclass(frozen=True)
class LockedBands:
    """An article's signature and band keys (:func:`article_bands`), the bands locked by
    the caller (:func:`lock_bands`) before it stored the article."""

    sig: LeanMinHash | None
    keys: list[int]


def article_bands(article: Article, rules: StoryRules | None = None) -> LockedBands:
    """The signature (None: too short to compare) and sorted band keys of ``article``."""
    sig = article_signature(article, (rules or DEFAULT_RULES).min_shingles)
    return LockedBands(sig, sorted(set(band_keys(sig))) if sig is not None else [])


@dataclass(frozen=True)
class StoryAssignment:
    story_id: int
    created: bool  # True: the article started a new story
    similarity: float = 0.0


def assign_story(
    session: Session,
    rules: StoryRules | None,
    row: ArticleRow,
    now: datetime | None = None,
    locked: LockedBands | None = None,
) -> StoryAssignment:
    """Put a stored article into its story: a recent near-duplicate's, or a new one.

    Sets ``row.story_id``. Call it in the transaction that stored the article
    and commit soon after: on PostgreSQL the article's band locks are held
    until then. ``locked``: the caller computed the article's bands and locked them
    already (``lock_bands``, before it stored the article).
    """
    rules = rules or DEFAULT_RULES
    now = now or utcnow()
    if row.story_id is not None:
        return StoryAssignment(row.story_id, False, 1.0)
    bands = locked if locked is not None else article_bands(as_article(row), rules)
    sig, keys = bands.sig, bands.keys
    if sig is not None:
        if locked is None:
            lock_bands(session, keys)
        found = best_story(sig, _candidates(session, keys, now - rules.window), rules.threshold)
        if found is not None:
            joined = session.execute(
                update(Story)
                .where(Story.id == found.story_id)
                .values(article_count=Story.article_count + 1, updated_at=now)
                .returning(Story.id)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if joined is not None:  # else deleted meanwhile (retention): start a new one
                row.story_id = joined
                session.flush()
                return StoryAssignment(joined, False, found.similarity)
    story = Story(
        first_article_id=row.id,
        title=row.title,
        article_count=1,
        minhash=signature_to_bytes(sig) if sig is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(story)
    session.flush()
    row.story_id = story.id
    session.flush()
    if keys:
        rows = [{"band_key": k, "story_id": story.id, "created_at": now} for k in keys]
        session.execute(insert(StoryBand).values(rows))  # one statement, one round trip
    return StoryAssignment(story.id, True)


def lock_bands(session: Session, keys: list[int]) -> None:
    """Lock the bands of one article until commit (PostgreSQL): the lock over all bands
    shared, then each band's, in one statement."""
    xact_lock(session, "story-band", keys, shared="story-bands")


def lock_all_bands(session: Session) -> None:
    """Lock every band until commit (PostgreSQL): for a batch's story decisions."""
    xact_lock_one(session, "story-bands")


def _candidates(
    session: Session, keys: list[int], cutoff: datetime
) -> list[tuple[int, LeanMinHash]]:
    """(story id, signature) of the stories created since ``cutoff`` sharing a band key."""
    sharing = select(StoryBand.story_id).where(
        StoryBand.band_key.in_(keys), StoryBand.created_at >= cutoff
    )
    rows = session.execute(
        select(Story.id, Story.minhash).where(
            Story.id.in_(sharing), Story.created_at >= cutoff, Story.minhash.is_not(None)
        )
    )
    out: list[tuple[int, LeanMinHash]] = []
    for story_id, data in rows:
        sig = stored_signature(data)
        if sig is not None:
            out.append((story_id, sig))
    return out


def stored_signature(data: bytes | None) -> LeanMinHash | None:
    """A story's stored signature, or None: none stored, damaged, or written by an
    incompatible version (such a story is never a candidate)."""
    if not data:
        return None
    try:
        sig = signature_from_bytes(data)
    except ValueError:
        return None
    return sig if len(sig) == NUM_PERM else None


def prune_story_bands(
    session: Session, rules: StoryRules | None = None, now: datetime | None = None
) -> int:
    """Forget the bands of stories too old to be joined; returns how many rows went."""
    cutoff = (now or utcnow()) - (rules or DEFAULT_RULES).window
    result = cast(
        CursorResult[tuple[()]],
        session.execute(
            delete(StoryBand)
            .where(StoryBand.created_at < cutoff)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount or 0


def story_articles(session: Session, story_id: int) -> list[ArticleRow]:
    """The articles of a story, oldest first."""
    return list(
        session.scalars(
            select(ArticleRow).where(ArticleRow.story_id == story_id).order_by(ArticleRow.id)
        )
    )
