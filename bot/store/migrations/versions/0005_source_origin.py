"""Sources record who declared them: ``file`` (sources.yaml) or ``chat`` (addsource).

A file-declared source is the operator's own and may name a private or
loopback address; a chat-added one is fetched through the SSRF guard. Rows
that exist already become ``chat`` (the guarded side): the next start's
``sync_sources`` marks those that ``sources.yaml`` declares as ``file``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(length=10), nullable=False, server_default="chat")
        )


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("origin")
