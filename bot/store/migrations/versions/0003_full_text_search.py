"""Full-text search over articles: SQLite FTS5, PostgreSQL tsvector.

Kept in sync by the database itself, so every writer is covered (the
pipeline, retention, a script, another replica):

* SQLite: an external-content FTS5 table ``articles_fts`` (title, text) over
  ``articles`` — the text is not stored twice — with ``unicode61
  remove_diacritics 2`` (case and diacritics folded, Cyrillic and other
  scripts tokenised), and triggers after INSERT, DELETE and UPDATE OF title,
  text on ``articles``. Existing rows are indexed by a ``rebuild``.
  Caution: a later ``batch_alter_table("articles")`` copies the table and
  drops the old one, and its triggers with it: re-create them afterwards
  (the statements are ``SQLITE_TRIGGERS`` below).
* PostgreSQL: a stored generated column ``articles.search_vector`` (the
  title weighted A, the first 100 000 characters of the text B, ``simple``
  configuration: lower case, no stemming, any script) and a GIN index.

An alert's summary is sentences of its article's text (or its title), so the
article's title and text cover it. None of these objects is in the models:
autogenerate and the schema test skip them (``bot.answers.search.include_object``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TABLE = """
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, text,
    content='articles', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
)
"""

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END
    """,
    """
    CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
    END
    """,
    """
    CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END
    """,
]

PG_COLUMN = """
ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('simple'::regconfig, left(coalesce(text, ''), 100000)), 'B')
) STORED
"""

PG_INDEX = "CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_TABLE)
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute(PG_COLUMN)
        op.execute(PG_INDEX)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("articles_fts_update", "articles_fts_delete", "articles_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
