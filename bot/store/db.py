"""Engines, sessions and migrations.

SQLite (the default: ``data/alertbot.db`` of the clone, or of the per-user data
folder when installed; see ``bot/bundled.py``) runs in WAL mode with foreign
keys on and a busy timeout, so the scheduler, the sender and the chat
handlers can share it from several threads. ``DATABASE_URL`` pointing at
``postgresql+psycopg://…`` switches to PostgreSQL, the shared state of
several replicas.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.bundled import default_database_url

SQLITE_BUSY_TIMEOUT_MS = 10_000
ALEMBIC_DIR = Path(__file__).resolve().parent / "migrations"

SessionFactory = sessionmaker[Session]


def normalise_database_url(url: str | None) -> URL:
    """The URL to connect to: the default SQLite file, or PostgreSQL via psycopg 3."""
    parsed = make_url(url or default_database_url())
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def describe_database(url: str | None) -> str:
    """``url`` for a log line: password hidden, a SQLite file as an absolute path
    (a relative one is relative to the working directory: say which one it is)."""
    parsed = normalise_database_url(url)
    database = parsed.database or ""
    is_file = parsed.get_backend_name() == "sqlite" and not _in_memory(database)
    if is_file and not parsed.query.get("uri"):
        parsed = parsed.set(database=str(Path(database).expanduser().resolve()))
    return parsed.render_as_string(hide_password=True)


def _in_memory(database: str) -> bool:
    return database in ("", ":memory:") or database.startswith("file::memory:")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: :func:`bot.bundled.default_database_url`).

    For a SQLite file the parent directory is created. Extra keyword
    arguments go to ``sqlalchemy.create_engine``.
    """
    parsed = normalise_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    in_memory = _in_memory(database)
    if not in_memory and not url.query.get("uri"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    return engine


def make_session_factory(engine: Engine) -> SessionFactory:
    """Sessions whose objects stay readable after commit (no reload on access)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(bind: Engine | SessionFactory) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back when it raises."""
    factory = make_session_factory(bind) if isinstance(bind, Engine) else bind
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgresql(bind: Session | Engine) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "postgresql"


def alembic_config(url: str | None = None) -> Any:
    """An Alembic ``Config`` for this project's migrations (no ``alembic.ini`` needed)."""
    from alembic.config import Config

    if not ALEMBIC_DIR.is_dir():
        raise RuntimeError(f"Alembic migrations not found at {ALEMBIC_DIR}")
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (Alembic ``upgrade``), in one transaction.

    On PostgreSQL an advisory lock makes replicas that start together
    migrate one after the other (the second finds the schema at head). Its key
    is the database's and schema's (``bot.store.locks``): deployments or test
    runs in other schemas never wait for it.
    """
    from alembic import command

    from bot.store.locks import lock_key, namespace

    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            key = lock_key(namespace(connection), "migrations")
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
