"""Initial schema.

Sources, articles, stories, alerts and their outlets, watchlists, chats,
subscriptions, the deliveries outbox, feedback and sent digests.

Full-text search tables come in a later revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url_or_path", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("fetch_full", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        _ts("last_success_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("last_error_at", nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        _ts("next_poll_at"),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        _ts("lease_until", nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
        sa.UniqueConstraint("url_or_path", name=op.f("uq_sources_url_or_path")),
    )
    op.create_index(op.f("ix_sources_next_poll_at"), "sources", ["next_poll_at"])

    # stories.first_article_id -> articles.id is added after articles exists (a cycle).
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_article_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index(op.f("ix_stories_created_at"), "stories", ["created_at"])

    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("url_hash", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        _ts("published_at", nullable=True),
        _ts("fetched_at"),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"],
            name=op.f("fk_articles_source_id_sources"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"],
            name=op.f("fk_articles_story_id_stories"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_articles_content_hash")),
        sa.UniqueConstraint("url_hash", name=op.f("uq_articles_url_hash")),
    )  # fmt: skip
    op.create_index(op.f("ix_articles_fetched_at"), "articles", ["fetched_at"])
    op.create_index(op.f("ix_articles_source_id"), "articles", ["source_id"])
    op.create_index(op.f("ix_articles_story_id"), "articles", ["story_id"])

    with op.batch_alter_table("stories") as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_stories_first_article_id_articles"),
            "articles",
            ["first_article_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "watchlists",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_watchlists")),
    )

    op.create_table(
        "chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("chat_key", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chats")),
        sa.UniqueConstraint("chat_key", name=op.f("uq_chats_chat_key")),
    )

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("watchlist", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("daily_at", sa.String(length=5), nullable=True),
        _ts("muted_until", nullable=True),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.CheckConstraint(
            "mode IN ('instant', 'hourly', 'daily')", name=op.f("ck_subscriptions_mode")
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"],
            name=op.f("fk_subscriptions_chat_id_chats"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "chat_id", "watchlist", name=op.f("uq_subscriptions_chat_id_watchlist")
        ),
    )  # fmt: skip
    op.create_index(op.f("ix_subscriptions_watchlist"), "subscriptions", ["watchlist"])

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("watchlist", sa.String(length=100), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("hits", sa.JSON(), nullable=False),
        sa.Column("score_parts", sa.JSON(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"],
            name=op.f("fk_alerts_article_id_articles"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"],
            name=op.f("fk_alerts_story_id_stories"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("story_id", "watchlist", name=op.f("uq_alerts_story_id_watchlist")),
    )  # fmt: skip
    op.create_index(op.f("ix_alerts_article_id"), "alerts", ["article_id"])
    op.create_index(op.f("ix_alerts_created_at"), "alerts", ["created_at"])
    op.create_index(op.f("ix_alerts_watchlist"), "alerts", ["watchlist"])

    op.create_table(
        "alert_outlets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("outlet", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"],
            name=op.f("fk_alert_outlets_alert_id_alerts"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"],
            name=op.f("fk_alert_outlets_article_id_articles"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_outlets")),
        sa.UniqueConstraint("alert_id", "outlet", name=op.f("uq_alert_outlets_alert_id_outlet")),
    )  # fmt: skip

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at"),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        _ts("claimed_until", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("sent_at", nullable=True),
        sa.Column("message_ref", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')",
            name=op.f("ck_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"],
            name=op.f("fk_deliveries_alert_id_alerts"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"],
            name=op.f("fk_deliveries_subscription_id_subscriptions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "subscription_id", "alert_id", name=op.f("uq_deliveries_subscription_id_alert_id")
        ),
    )  # fmt: skip
    op.create_index(op.f("ix_deliveries_alert_id"), "deliveries", ["alert_id"])
    op.create_index(
        "ix_deliveries_status_next_attempt_at", "deliveries", ["status", "next_attempt_at"]
    )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"],
            name=op.f("fk_feedback_alert_id_alerts"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"],
            name=op.f("fk_feedback_chat_id_chats"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "alert_id", "chat_id", "user_id", name=op.f("uq_feedback_alert_id_chat_id_user_id")
        ),
    )  # fmt: skip

    op.create_table(
        "digests_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=40), nullable=False),
        _ts("sent_at"),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"],
            name=op.f("fk_digests_sent_subscription_id_subscriptions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests_sent")),
        sa.UniqueConstraint(
            "subscription_id", "period_key",
            name=op.f("uq_digests_sent_subscription_id_period_key"),
        ),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("digests_sent")
    op.drop_table("feedback")
    op.drop_table("deliveries")
    op.drop_table("alert_outlets")
    op.drop_table("alerts")
    op.drop_table("subscriptions")
    op.drop_table("chats")
    op.drop_table("watchlists")
    with op.batch_alter_table("stories") as batch_op:
        batch_op.drop_constraint(op.f("fk_stories_first_article_id_articles"), type_="foreignkey")
    op.drop_table("articles")
    op.drop_table("stories")
    op.drop_table("sources")
