"""Folder sources remember their folders' mtimes (``seen_dirs``), beside the files' ones.

A folder whose modification time is the one recorded at the last poll holds
the same entries: its listing is taken from the index instead of the disk
(each file is still stat'ed, so a file changed in place is read again).

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("seen_dirs", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("seen_dirs")
