"""Fixtures and helpers for the chat command tests (no tests here).

A Service on a temporary SQLite file, seeded from a small commented
watchlist (``demo``) unless a test asks for the bundled ones; contexts for
a group admin, a group member, a private chat and Slack.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.models import Article
from bot.runtime.pipeline import ingest
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.db import make_engine, migrate
from handlers.commands import handle_text
from handlers.reply import CommandContext, Reply

ROOT = Path(__file__).resolve().parent.parent

DEMO_YAML = """\
# Demo watchlist: these comments must survive edits made in chat.
name: demo
description: Wagner mercenaries on the move
entities:
  # the group itself, and what the press calls it
  - name: Wagner Group
    aliases: [Wagner, PMC Wagner]
    fuzzy: 90
keywords:
  - mercenaries   # the plural only
  - convoy*
groups:
  moves: [deploy*, "on the move"]
min_score: 0.3
"""

GROUP = "telegram:-100"
ADMIN = CommandContext("telegram", GROUP, "telegram:1", "ann", "Desk", is_admin=True)
MEMBER = CommandContext("telegram", GROUP, "telegram:2", "bob", "Desk")
PRIVATE = CommandContext("telegram", "telegram:2", "telegram:2", "bob", "", is_private=True)
SLACK = CommandContext("slack", "slack:C1", "slack:U1", "cy", "general", is_admin=True)

ARTICLE = Article(
    title="Wagner convoy spotted",
    text="A convoy of Wagner mercenaries was seen on the highway. Residents filmed the trucks.",
    url="https://news.test/wagner-convoy",
    source="Wire",
    published="2026-03-10T12:00:00+00:00",
)


_TEMPLATE: list[Path] = []  # a migrated database file, copied for each test (faster)


def _migrated_database() -> Path:
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="alertbot-commands-"))
        engine = make_engine(f"sqlite:///{folder / 'a.db'}")
        migrate(engine)
        engine.dispose()  # checkpoints the WAL into the file
        _TEMPLATE.append(folder / "a.db")
    return _TEMPLATE[0]


def make_service(tmp_path: Path, watchlists: Path | None = None, **settings: Any) -> Service:
    if watchlists is None:
        watchlists = tmp_path / "watchlists"
        watchlists.mkdir(exist_ok=True)
        (watchlists / "demo.yaml").write_text(DEMO_YAML, encoding="utf-8")
    shutil.copyfile(_migrated_database(), tmp_path / "a.db")
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'a.db'}",
        "watchlist_dir": watchlists,
        "sources": ROOT / "samples" / "sources.yaml",
        "admin_users": [],
        "allowed_chats": [],
        "allow_private_sources": False,
    }
    values.update(settings)
    service = Service(Settings(**values), worker="test")
    service.load_watchlists()
    service.sync_sources()
    return service


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    svc = make_service(tmp_path)
    try:
        yield svc
    finally:
        await svc.close()


@pytest.fixture(scope="module")
def shared_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service for a module's tests that change nothing (refusals, usage errors)."""
    svc = make_service(tmp_path_factory.mktemp("shared"))
    try:
        yield svc
    finally:
        asyncio.run(svc.close())


async def say(service: Service, ctx: CommandContext, text: str) -> Reply:
    reply = await handle_text(service, ctx, text)
    assert isinstance(reply, Reply)
    return reply


def assert_usage_error(reply: Reply, usage: str) -> None:
    """One line, marked as an error, naming the command's usage."""
    line = reply.plain_text
    assert reply.error, line
    assert "\n" not in line, line
    assert "Usage:" in line and usage in line, line


def assert_one_line_error(reply: Reply, *fragments: str) -> None:
    line = reply.plain_text
    assert reply.error, line
    assert "\n" not in line, line
    for fragment in fragments:
        assert fragment in line, line


def make_alert(service: Service, article: Article = ARTICLE) -> int:
    """Ingest ``article`` and return the id of the alert it raised."""
    with session_scope(service.factory) as session:
        result = ingest(session, article, service.matcher, service.stories)
    assert result.alerts_created, "the article should raise an alert"
    return result.alerts_created[0]
