"""Shared fixtures. ``engine``/``db``: a migrated, empty database, SQLite and PostgreSQL.

SQLite: a copy of a migrated file per test. PostgreSQL (``TEST_DATABASE_URL``,
default the local ``test`` database with trust auth): a schema of its own
per test session, migrated once and truncated before each test;
``empty_engine`` gives a fresh, unmigrated schema per test. When PostgreSQL
is unreachable its variants are skipped — except on CI (``CI=true``), where
they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.store.db import SessionFactory, make_engine, make_session_factory, migrate
from bot.store.tables import Base

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# The subprocess tests read the lines a person sees (``alertbot run`` inherits this); JSON
# logs, the default when stderr is not a terminal, are checked in tests/test_logs.py.
os.environ["LOG_FORMAT"] = "text"
# No timed unit tests: hypothesis's 200 ms deadline per example failed on a loaded 2-core
# machine (test_wordscan, 820 ms once, 0.1 ms on the retry). Speed is measured in bench/.
hypothesis_settings.register_profile("alertbot", deadline=None)
hypothesis_settings.load_profile("alertbot")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-readme",
        action="store_true",
        help="tests/test_readme.py: write what the code prints into README.md's checked examples",
    )


@cache
def pg_unavailable_reason() -> str | None:
    """None when PostgreSQL answers, else why not."""
    probe = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver or network error means: not available
        return f"PostgreSQL at {make_url(PG_URL).render_as_string()} unreachable: {exc}"
    finally:
        probe.dispose()
    return None


def require_pg() -> None:
    reason = pg_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def sqlite_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'alertbot.db'}")


@contextmanager
def pg_schema() -> Iterator[Engine]:
    """An engine on a new, empty PostgreSQL schema, dropped afterwards."""
    require_pg()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each backend (not migrated; for migration tests)."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path)
        yield engine
        engine.dispose()
    else:
        with pg_schema() as engine:
            yield engine


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template")
    engine = sqlite_engine(path)
    migrate(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path / "alertbot.db"


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[Engine]:
    """One migrated PostgreSQL schema per test session; ``engine`` empties it per test."""
    with pg_schema() as engine:
        migrate(engine)
        yield engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "alertbot.db")
        engine = sqlite_engine(tmp_path)
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("pg_migrated")
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield engine


@pytest.fixture
def db(engine: Engine) -> SessionFactory:
    """A session factory on the migrated database."""
    return make_session_factory(engine)
