"""Telegram updates taken in by a webhook, so that each is processed once across replicas.

Revision ID: 0007
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "update_id", name=op.f("pk_telegram_updates")),
    )
    op.create_index(
        op.f("ix_telegram_updates_received_at"), "telegram_updates", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_telegram_updates_received_at"), table_name="telegram_updates")
    op.drop_table("telegram_updates")
