"""Story bands: the LSH bands of each story's MinHash, so replicas share stories.

Until now each process kept the recent stories in an index in memory,
refreshed every minute, and two replicas fed the two outlets of one report
made two stories. The table holds one row per (band key, story); the
stories of the last window that have a signature get their rows here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "story_bands",
        sa.Column("band_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_bands_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("band_key", "story_id", name=op.f("pk_story_bands")),
    )
    with op.batch_alter_table("story_bands") as batch:
        batch.create_index(batch.f("ix_story_bands_created_at"), ["created_at"], unique=False)
        batch.create_index(batch.f("ix_story_bands_story_id"), ["story_id"], unique=False)
    _backfill()


def _backfill() -> None:
    """Bands of the stories still inside the window (older ones are never joined)."""
    from bot.engine.stories import WINDOW, band_keys, signature_from_bytes

    bind = op.get_bind()
    stories = sa.table(
        "stories",
        sa.column("id", sa.Integer()),
        sa.column("minhash", sa.LargeBinary()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    bands = sa.table(
        "story_bands",
        sa.column("band_key", sa.BigInteger()),
        sa.column("story_id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    cutoff = datetime.now(UTC) - WINDOW
    if bind.dialect.name == "sqlite":  # stored as naive UTC text there
        cutoff = cutoff.replace(tzinfo=None)
    rows = bind.execute(
        sa.select(stories.c.id, stories.c.minhash, stories.c.created_at).where(
            stories.c.created_at >= cutoff, stories.c.minhash.is_not(None)
        )
    )
    batch: list[dict[str, object]] = []
    for story_id, data, created_at in rows:
        try:
            sig = signature_from_bytes(data)
        except ValueError:
            continue
        if sig.is_empty():
            continue
        keys = set(band_keys(sig))
        batch.extend({"band_key": k, "story_id": story_id, "created_at": created_at} for k in keys)
    if batch:
        bind.execute(bands.insert(), batch)


def downgrade() -> None:
    with op.batch_alter_table("story_bands") as batch:
        batch.drop_index(batch.f("ix_story_bands_story_id"))
        batch.drop_index(batch.f("ix_story_bands_created_at"))
    op.drop_table("story_bands")
