"""Article → clean → store once → story → match → alerts (+ outbox rows).

``bot.engine.analyse`` is the pure part (what ``scan`` and ``eval`` use too). ``ingest`` is
the stored path of the long-running job: one article in one transaction, so
an article, its story, its alerts and their outbox rows are written together
or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot import metrics
from bot.engine.analyse import analyse, clean_article
from bot.engine.matcher import Matcher
from bot.engine.stories import StoryRules
from bot.logs import bind
from bot.models import Article
from bot.store import add_story_outlet, assign_story, record_alert, session_scope, store_article
from bot.store.db import SessionFactory

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
    stored = store_article(session, article, source_id, now)
    row = stored.row
    bind(article_id=row.id)  # the lines about this article say which (in its thread)
    if not stored.created:
        if stored.duplicate_by == "content" and row.story_id is not None and article.url:
            add_story_outlet(session, row.story_id, article.source, article.url, now)
        return Ingested(row.id, False, row.story_id)
    story = assign_story(session, stories, row, now)
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
) -> list[Ingested]:
    """``ingest`` each article in a transaction of its own."""
    done = []
    for article in articles:
        with session_scope(session_factory) as session:
            done.append(ingest(session, article, matcher, stories, source_id))
        metrics.ingested(done[-1])
    return done
