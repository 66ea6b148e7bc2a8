"""Labelled items learned from a file (``alertbot learn FILE --watchlist WL``).

Kept beside the chat's feedback so the scheduled retraining learns from both
(a model trained on a file alone would be replaced at the next click).
Unique per watchlist and content: learning from the same file twice adds
nothing; a changed label updates the row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "labelled_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist", sa.String(length=100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labelled_items")),
        sa.UniqueConstraint(
            "watchlist", "content_hash", name=op.f("uq_labelled_items_watchlist_content_hash")
        ),
    )
    op.create_index(
        op.f("ix_labelled_items_watchlist"), "labelled_items", ["watchlist"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_labelled_items_watchlist"), table_name="labelled_items")
    op.drop_table("labelled_items")
