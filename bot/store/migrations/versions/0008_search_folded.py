"""Search reads articles folded the way the matcher folds them.

Before, SQLite's FTS5 (``unicode61 remove_diacritics 2``) folded case and
accents but not scripts, and PostgreSQL's ``simple`` tsvector folded neither
accents nor scripts: ``search лукашенко`` missed an article saying
"Lukashenko", and on PostgreSQL ``Cichanouskaja`` missed "Cichanoŭskaja".
The folding the matcher uses (NFKC, casefold, every script transliterated
with anyascii, diacritics folded: ``bot.engine.text.search_words``) has no
SQL equivalent on either database, so it is done in Python when an article
is stored, into two new columns:

* ``articles.search_title``, ``articles.search_text`` (the first
  ``SEARCH_TEXT_CHARS`` of the text): the normalised tokens, one space
  apart; filled by the models' column defaults on every INSERT. Existing
  rows are backfilled here, in batches.
* SQLite: ``articles_fts`` is re-made as an external-content FTS5 table over
  those two columns, with the same triggers on them (insert, delete, update
  of either), and rebuilt.
* PostgreSQL: ``articles.search_vector`` is re-made as a stored generated
  column over them (title weighted A, text B) with its GIN index.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.tables import search_text, search_title

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
OLD_TRIGGERS = ("articles_fts_update", "articles_fts_delete", "articles_fts_insert")


def _fts(title: str, text: str) -> list[str]:
    """The FTS5 table over ``title``/``text`` of articles, and its triggers."""
    return [
        f"""
        CREATE VIRTUAL TABLE articles_fts USING fts5(
            {title}, {text},
            content='articles', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )
        """,
        f"""
        CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, {title}, {text})
            VALUES (new.id, new.{title}, new.{text});
        END
        """,
        f"""
        CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, {title}, {text})
            VALUES ('delete', old.id, old.{title}, old.{text});
        END
        """,
        f"""
        CREATE TRIGGER articles_fts_update AFTER UPDATE OF {title}, {text} ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, {title}, {text})
            VALUES ('delete', old.id, old.{title}, old.{text});
            INSERT INTO articles_fts(rowid, {title}, {text}) VALUES (new.id, new.{title}, new.{text});
        END
        """,
        "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
    ]


def _pg_vector(title: str, text: str) -> list[str]:
    return [
        f"""
        ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('simple'::regconfig, coalesce({title}, '')), 'A')
            || setweight(to_tsvector('simple'::regconfig, left(coalesce({text}, ''), 100000)), 'B')
        ) STORED
        """,
        "CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)",
    ]


def _drop_index(dialect: str) -> None:
    if dialect == "sqlite":
        for name in OLD_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")


def _backfill() -> None:
    """Fold every stored article, a batch of rows at a time (by id)."""
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, title, text FROM articles WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        conn.execute(
            sa.text("UPDATE articles SET search_title = :t, search_text = :x WHERE id = :id"),
            [{"id": r.id, "t": search_title(r.title), "x": search_text(r.text)} for r in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_index(dialect)  # first: the old triggers would fire on every backfilled row
    # plain ADD COLUMN (no batch copy of the table, which would drop its triggers)
    op.add_column(
        "articles", sa.Column("search_title", sa.Text(), nullable=False, server_default="")
    )
    op.add_column(
        "articles", sa.Column("search_text", sa.Text(), nullable=False, server_default="")
    )
    _backfill()
    statements = (
        _fts("search_title", "search_text")
        if dialect == "sqlite"
        else _pg_vector("search_title", "search_text")
        if dialect == "postgresql"
        else []
    )
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_index(dialect)
    if dialect == "sqlite":
        op.execute("ALTER TABLE articles DROP COLUMN search_text")
        op.execute("ALTER TABLE articles DROP COLUMN search_title")
        statements = _fts("title", "text")
    else:
        op.drop_column("articles", "search_text")
        op.drop_column("articles", "search_title")
        statements = _pg_vector("title", "text") if dialect == "postgresql" else []
    for statement in statements:
        op.execute(statement)
