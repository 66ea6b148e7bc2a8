"""Engines and migrations on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from bot.bundled import default_data_dir, default_database_url
from bot.store.db import (
    current_revision,
    make_engine,
    migrate,
    normalise_database_url,
    session_scope,
)
from bot.store.tables import Base, Chat


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from bot.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


TABLES = {
    "sources",
    "articles",
    "stories",
    "story_bands",
    "alerts",
    "alert_outlets",
    "watchlists",
    "lexicons",
    "chats",
    "subscriptions",
    "deliveries",
    "feedback",
    "digests_sent",
    "relevance_models",
    "missed_items",
    "labelled_items",
    "telegram_updates",
}


def test_migrations_create_every_table_on_an_empty_database(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    migrate(empty_engine)
    names = set(inspect(empty_engine).get_table_names())
    assert names >= TABLES | {"alembic_version"}
    assert set(Base.metadata.tables) == TABLES
    assert current_revision(empty_engine) == head_revision()


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    migrate(engine)
    assert current_revision(engine) == head_revision()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.answers.search import include_object  # the full-text index is not in the models

    with engine.connect() as conn:
        opts = {"compare_type": False, "include_object": include_object}
        ctx = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(ctx, Base.metadata) == []


def test_migrations_downgrade_to_nothing(empty_engine: Engine) -> None:
    from alembic import command

    from bot.store.db import alembic_config

    migrate(empty_engine)
    config = alembic_config()
    with empty_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}


def test_the_sqlite_files_folder_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine("sqlite:///data/alertbot.db")
    try:
        migrate(engine)
        assert (tmp_path / "data" / "alertbot.db").is_file()
    finally:
        engine.dispose()


def test_the_default_url_is_the_default_file_not_one_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = normalise_database_url(None)
    assert url.database is not None and Path(url.database).is_absolute()
    assert Path(url.database) == default_data_dir() / "alertbot.db"


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x' / 'a.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    finally:
        engine.dispose()


def test_postgres_urls_use_psycopg_3() -> None:
    assert normalise_database_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_database_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_database_url(None).render_as_string() == default_database_url()


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(Chat(platform="console", chat_key="console:1"))
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        s.add(Chat(platform="console", chat_key="console:2"))
        s.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        keys = [c.chat_key for c in s.query(Chat).order_by(Chat.id)]
    assert keys == ["console:1"]


def test_times_come_back_as_utc(engine: Engine) -> None:
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 3, 10, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(engine) as s:
        s.add(Chat(platform="console", chat_key="console:tz", created_at=moment))
    with session_scope(engine) as s:
        chat = s.query(Chat).one()
        assert chat.created_at == moment
        assert chat.created_at.utcoffset() == timedelta(0)
