"""Storage: SQLAlchemy tables and the functions that read and write them.

Every function takes a ``Session`` and leaves committing to the caller
(``session_scope``), so an article, its story, its alerts and their outbox
rows are written in one transaction. One article, as the pipeline does it::

    with session_scope(factory) as s:
        stored = store_article(s, article, source_id)
        if not stored.created:  # seen before (same canonical URL or same content)
            if stored.duplicate_by == "content" and stored.row.story_id is not None:
                add_story_outlet(s, stored.row.story_id, article.source, article.url)
            return
        story = assign_story(s, StoryRules(), stored.row)  # a reprint joins its story
        for match in analyse(article, matcher):
            record_alert(s, story.story_id, match, stored.id)  # + outbox rows, once per story

At start: ``engine = make_engine(url); migrate(engine)``. Stories are decided
in the database (``story_bands``), so replicas sharing PostgreSQL need
nothing more.
"""

from bot.store.alerts import (
    add_outlet,
    add_story_outlet,
    get_alert,
    outlet_name,
    recent_alerts,
    record_alert,
    record_feedback,
)
from bot.store.articles import StoredArticle, content_hash, find_duplicate, store_article
from bot.store.db import (
    current_revision,
    describe_database,
    make_engine,
    make_session_factory,
    migrate,
    session_scope,
)
from bot.store.outbox import (
    claim_deliveries,
    enqueue_deliveries,
    fail_exhausted,
    mark_failed,
    mark_sent,
)
from bot.store.sources import (
    add_source,
    claim_due_sources,
    get_source,
    list_sources,
    record_poll_failure,
    record_poll_success,
    remove_source,
    upsert_source,
)
from bot.store.stories import (
    StoryAssignment,
    assign_story,
    prune_story_bands,
)
from bot.store.subscriptions import (
    claim_digest,
    get_chat,
    mute,
    pause_subscription,
    subscribe,
    unsubscribe,
    upsert_chat,
)
from bot.store.tables import (
    Alert,
    AlertOutlet,
    ArticleRow,
    Base,
    Chat,
    Delivery,
    DigestSent,
    Feedback,
    Source,
    Story,
    StoryBand,
    Subscription,
    WatchlistRow,
)
from bot.store.watchlists import delete_watchlist, get_watchlist, list_watchlists, save_watchlist

__all__ = [
    "describe_database",
    "Alert",
    "AlertOutlet",
    "ArticleRow",
    "Base",
    "Chat",
    "Delivery",
    "DigestSent",
    "Feedback",
    "Source",
    "Story",
    "StoryBand",
    "StoryAssignment",
    "StoredArticle",
    "Subscription",
    "WatchlistRow",
    "add_outlet",
    "add_source",
    "add_story_outlet",
    "assign_story",
    "claim_deliveries",
    "claim_digest",
    "claim_due_sources",
    "content_hash",
    "current_revision",
    "delete_watchlist",
    "enqueue_deliveries",
    "fail_exhausted",
    "find_duplicate",
    "get_alert",
    "get_chat",
    "get_source",
    "get_watchlist",
    "list_sources",
    "list_watchlists",
    "make_engine",
    "make_session_factory",
    "mark_failed",
    "mark_sent",
    "migrate",
    "mute",
    "outlet_name",
    "pause_subscription",
    "recent_alerts",
    "record_alert",
    "record_feedback",
    "record_poll_failure",
    "record_poll_success",
    "prune_story_bands",
    "remove_source",
    "save_watchlist",
    "session_scope",
    "store_article",
    "subscribe",
    "unsubscribe",
    "upsert_chat",
    "upsert_source",
]
