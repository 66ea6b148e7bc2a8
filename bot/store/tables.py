"""The tables: SQLAlchemy 2 typed declarative models (SQLite and PostgreSQL).

Times are stored in UTC (``UTCDateTime``: aware datetimes in, aware UTC
datetimes out, on both backends). Constraint names follow one naming
convention so later migrations can refer to them (SQLite batch mode needs it).

Watchlist names in ``alerts`` and ``subscriptions`` are plain strings, not
foreign keys: watchlists may come from YAML files, and alerts outlive a
deleted watchlist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot.engine.text import search_words
from bot.limits import SEARCH_TEXT_CHARS

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")
SUBSCRIPTION_MODES = ("instant", "hourly", "daily")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC; naive values are taken to be UTC already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":  # stored as text: keep one comparable form
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Source(Base):
    """A feed, page, file, webhook or stream that articles come from."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url_or_path: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    interval_s: Mapped[int] = mapped_column(Integer, default=900)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    fetch_full: Mapped[bool] = mapped_column(Boolean, default=False)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Poller state kept across restarts: files already read ("path": "mtime:size").
    seen_files: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A folder source's folders and their mtime_ns at the last listing: an unchanged
    # folder is not listed again (bot.ingest.poll). None until the first folder poll.
    seen_dirs: Mapped[dict[str, Any] | None]
    # The last problem a poll reported (e.g. a feed recovered from bad XML):
    # logged when it changes, not on every poll.
    last_problem: Mapped[str | None] = mapped_column(Text)
    # Who declared it: "file" (sources.yaml, the operator's own: its URLs may be private)
    # or "chat" (addsource: fetched through the SSRF guard unless ALLOW_PRIVATE_SOURCES).
    origin: Mapped[str] = mapped_column(String(10), default="chat", server_default="chat")

    def __repr__(self) -> str:
        return f"Source(id={self.id!r}, name={self.name!r}, kind={self.kind!r})"


class Story(Base):
    """Articles that are near-duplicates of one another (one wire report, many outlets)."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL", use_alter=True)
    )
    title: Mapped[str] = mapped_column(Text, default="")
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Story(id={self.id!r}, title={self.title!r}, articles={self.article_count!r})"


def search_title(title: str | None) -> str:
    """The title as the search index reads it (see ``bot.engine.text.search_words``)."""
    return search_words(title or "")


def search_text(text: str | None) -> str:
    """The first ``SEARCH_TEXT_CHARS`` of the text as the search index reads it."""
    return search_words((text or "")[:SEARCH_TEXT_CHARS])


def _search_title_default(context: DefaultExecutionContext) -> str:
    return search_title(context.get_current_parameters().get("title"))


def _search_text_default(context: DefaultExecutionContext) -> str:
    return search_text(context.get_current_parameters().get("text"))


class StoryBand(Base):
    """One LSH band of a story's MinHash (``bot.engine.stories.band_keys``).

    A new article's candidate stories are those sharing a band key with it:
    looked up and inserted in the article's transaction (on PostgreSQL under
    an advisory lock per band), so replicas agree on stories without an
    index in memory. Rows older than the story window are pruned.
    """

    __tablename__ = "story_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ArticleRow(Base):
    """An article as stored: once per canonical URL and once per content hash.

    ``url_hash`` is the SHA-256 of ``canonical_url`` and carries its
    uniqueness (a unique index on a long URL would exceed PostgreSQL's
    B-tree entry limit).

    ``search_title``/``search_text`` are the title and text folded the way
    the matcher folds them (migration 0008): the full-text indexes are built
    on them, so ``search лукашенко`` finds "Lukashenko" on both databases.
    They are filled on every INSERT (column defaults computed from the
    title and text) and on an ORM change of either (``_refold``); a Core
    UPDATE of ``title``/``text`` must set them too (nothing does: an article
    is stored once).
    """

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    url_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    search_title: Mapped[str] = mapped_column(
        Text, default=_search_title_default, server_default=""
    )
    search_text: Mapped[str] = mapped_column(Text, default=_search_text_default, server_default="")
    source_name: Mapped[str] = mapped_column(String(200), default="")
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL"), index=True
    )
    published_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True
    )

    def __repr__(self) -> str:
        return f"Article(id={self.id!r}, title={self.title!r}, story_id={self.story_id!r})"


@event.listens_for(ArticleRow, "before_update")
def _refold(mapper: Any, connection: Any, row: ArticleRow) -> None:
    """An ORM change of an article's title or text re-folds its search columns."""
    attrs = inspect(row).attrs
    if attrs.title.history.has_changes():
        row.search_title = search_title(row.title)
    if attrs.text.history.has_changes():
        row.search_text = search_text(row.text)


class Alert(Base):
    """One watchlist firing on one story: pushed once, however many outlets reprint it."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("story_id", "watchlist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    watchlist: Mapped[str] = mapped_column(String(100), index=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    score: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text, default="")
    hits: Mapped[list[Any]] = mapped_column(default=list)
    score_parts: Mapped[list[Any]] = mapped_column(default=list)
    rule: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # the learned second stage (migration 0011): None while the watchlist has no model
    relevance: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)
    held_back: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    story: Mapped[Story] = relationship()
    article: Mapped[ArticleRow | None] = relationship()
    outlets: Mapped[list[AlertOutlet]] = relationship(
        back_populates="alert", order_by="AlertOutlet.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"Alert(id={self.id!r}, watchlist={self.watchlist!r}, story_id={self.story_id!r})"


class AlertOutlet(Base):
    """An outlet that published the alert's story (the first one included)."""

    __tablename__ = "alert_outlets"
    __table_args__ = (UniqueConstraint("alert_id", "outlet"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    outlet: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text, default="")
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    alert: Mapped[Alert] = relationship(back_populates="outlets")


class WatchlistRow(Base):
    """A watchlist's YAML as edited in chat (the source of truth once loaded)."""

    __tablename__ = "watchlists"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    yaml: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class LexiconRow(Base):
    """A lexicon's YAML: groups that watchlists use (``use: [name]``). Not a watchlist:
    it never alerts and cannot be subscribed to, hence a table of its own."""

    __tablename__ = "lexicons"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    yaml: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class Chat(Base):
    """A Telegram chat, Slack channel or console session the bot talks to."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_key: Mapped[str] = mapped_column(String(200), unique=True)  # "telegram:-100123"
    title: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="chat", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"Chat(id={self.id!r}, chat_key={self.chat_key!r})"


class Subscription(Base):
    """A chat following a watchlist: instant pushes, or hourly/daily digests."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("chat_id", "watchlist"),
        CheckConstraint("mode IN ('instant', 'hourly', 'daily')", name="mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    watchlist: Mapped[str] = mapped_column(String(100), index=True)
    mode: Mapped[str] = mapped_column(String(10), default="instant")
    daily_at: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" in the chat's timezone
    muted_until: Mapped[datetime | None]
    paused_reason: Mapped[str | None] = mapped_column(Text)  # e.g. "bot blocked by the user"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    chat: Mapped[Chat] = relationship(back_populates="subscriptions")

    def __repr__(self) -> str:
        return (
            f"Subscription(id={self.id!r}, chat_id={self.chat_id!r}, "
            f"watchlist={self.watchlist!r}, mode={self.mode!r})"
        )


class Delivery(Base):
    """The outbox: one row per (subscription, alert) to push, claimed by a sender."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "alert_id"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    message_ref: Mapped[str | None] = mapped_column(Text)  # platform message id(s)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscription: Mapped[Subscription] = relationship()
    alert: Mapped[Alert] = relationship()

    def __repr__(self) -> str:
        return (
            f"Delivery(id={self.id!r}, subscription_id={self.subscription_id!r}, "
            f"alert_id={self.alert_id!r}, status={self.status!r})"
        )


class Feedback(Base):
    """A user's verdict on an alert (relevant or not); one per user and alert."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("alert_id", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(200))  # platform user id
    relevant: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RelevanceModelRow(Base):
    """One trained relevance model of a watchlist; versions count up, the newest is used."""

    __tablename__ = "relevance_models"
    __table_args__ = (UniqueConstraint("watchlist", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watchlist: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    model: Mapped[dict[str, Any]] = mapped_column(default=dict)  # relevance.Model.to_json()
    feedback_mark: Mapped[str] = mapped_column(String(200), default="")  # the feedback it saw
    examples: Mapped[int] = mapped_column(Integer, default=0)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)


class MissedItem(Base):
    """A story a chat said should have alerted (``missed``); once per watchlist and content."""

    __tablename__ = "missed_items"
    __table_args__ = (UniqueConstraint("watchlist", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watchlist: Mapped[str] = mapped_column(String(100), index=True)
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id", ondelete="SET NULL"))
    user_id: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LabelledRow(Base):
    """An item of a labelled file (``alertbot learn``): training data kept beside the chat's
    feedback, so the scheduled retraining learns from both; once per watchlist and content."""

    __tablename__ = "labelled_items"
    __table_args__ = (UniqueConstraint("watchlist", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watchlist: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    relevant: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestSent(Base):
    """A digest period already sent to a subscription: the key that makes it once-only."""

    __tablename__ = "digests_sent"
    __table_args__ = (UniqueConstraint("subscription_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(40))  # e.g. "daily:2026-03-10"
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class TelegramUpdate(Base):
    """A Telegram update already taken in by a webhook: the key that makes it once-only.

    Telegram re-sends an update until one request answers 2xx, and any
    replica may receive it; the first to insert ``(bot_id, update_id)``
    processes it. Rows older than Telegram keeps updates (24 h) are forgotten.
    """

    __tablename__ = "telegram_updates"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
