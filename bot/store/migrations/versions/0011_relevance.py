"""The learned second stage: relevance models, missed stories, and what scored an alert.

``relevance_models`` keeps every trained model of a watchlist (versions count
up per watchlist; the unique key lets two replicas race to save one).
``missed_items`` holds the stories a chat said should have alerted, once per
watchlist and content. An alert records its calibrated ``relevance``, the
``model_version`` that scored it, and whether it was ``held_back`` (not
pushed, listed in the next digest); alerts made before stay NULL / false.

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relevance_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("feedback_mark", sa.String(length=200), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relevance_models")),
        sa.UniqueConstraint(
            "watchlist", "version", name=op.f("uq_relevance_models_watchlist_version")
        ),
    )
    op.create_index(
        op.f("ix_relevance_models_watchlist"), "relevance_models", ["watchlist"], unique=False
    )
    op.create_table(
        "missed_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist", sa.String(length=100), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"],
            name=op.f("fk_missed_items_chat_id_chats"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missed_items")),
        sa.UniqueConstraint(
            "watchlist", "content_hash", name=op.f("uq_missed_items_watchlist_content_hash")
        ),
    )
    op.create_index(op.f("ix_missed_items_watchlist"), "missed_items", ["watchlist"], unique=False)
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("relevance", sa.Float(), nullable=True))
        batch.add_column(sa.Column("model_version", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("held_back", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("held_back")
        batch.drop_column("model_version")
        batch.drop_column("relevance")
    op.drop_index(op.f("ix_missed_items_watchlist"), table_name="missed_items")
    op.drop_table("missed_items")
    op.drop_index(op.f("ix_relevance_models_watchlist"), table_name="relevance_models")
    op.drop_table("relevance_models")
