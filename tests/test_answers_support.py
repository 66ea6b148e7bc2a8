"""Helpers for the answers tests (no tests here): stored alerts at chosen times, and a
service watching Belarus and Lukashenko (with Cyrillic aliases) in a chosen time zone."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from test_commands_support import make_service

from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.subscriptions import upsert_chat
from bot.store.tables import Alert, AlertOutlet, ArticleRow, Story
from handlers.commands import handle_button, handle_text
from handlers.reply import CommandContext, Reply

BELARUS_YAML = """\
name: belarus-watch
description: Belarus and its president
entities:
  - name: Alexander Lukashenko
    aliases: [Lukashenko, Lukashenka, Лукашенко]
  - name: Belarus
    aliases: [Belarusian, Minsk, Беларусь]
keywords: [troops, border, exercise*]
"""

KYIV = "Europe/Kyiv"
DESK = CommandContext("telegram", "telegram:-500", "telegram:5", "dee", "Desk")
CONSOLE = CommandContext("console", "console:local", "console", is_admin=True, is_private=True)

_serial = itertools.count(1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def hit(
    term: str, kind: str = "entity", said: str | None = None, sentence: str = ""
) -> dict[str, Any]:
    said = said or term
    return {
        "term": term,
        "kind": kind,
        "text": said,
        "start": 0,
        "end": len(said),
        "sentence": sentence or said,
        "field": "text",
    }


def add_alert(
    session: Session,
    *,
    at: datetime,
    title: str = "",
    text: str = "",
    watchlist: str = "belarus-watch",
    score: float = 0.5,
    hits: Sequence[dict[str, Any]] = (),
    outlets: Iterable[str] = ("Wire",),
    summary: str | None = None,
    story_id: int | None = None,
) -> int:
    """Store an article, its story (unless given), an alert at ``at`` and its outlets."""
    n = next(_serial)
    title = title or f"Story {n}"
    text = text or f"What happened in {title.lower()}."
    if story_id is None:
        story = Story(title=title, article_count=1, created_at=at, updated_at=at)
        session.add(story)
        session.flush()
        story_id = story.id
    digest = hashlib.sha256(f"{n}|{title}|{text}".encode()).hexdigest()
    article = ArticleRow(
        canonical_url=f"https://news.test/{n}",
        url_hash=digest,
        content_hash=digest,
        url=f"https://news.test/{n}",
        title=title,
        text=text,
        source_name="Wire",
        published_at=at,
        fetched_at=at,
        story_id=story_id,
    )
    session.add(article)
    session.flush()
    alert = Alert(
        story_id=story_id,
        watchlist=watchlist,
        article_id=article.id,
        score=score,
        summary=text[:300] if summary is None else summary,
        hits=list(hits),
        score_parts=[],
        rule="",
        created_at=at,
    )
    session.add(alert)
    session.flush()
    for outlet in outlets:
        session.add(AlertOutlet(alert_id=alert.id, outlet=outlet, url="", created_at=at))
    session.flush()
    return alert.id


def set_zone(service: Service, ctx: CommandContext, tz: str) -> None:
    with session_scope(service.factory) as session:
        upsert_chat(session, ctx.platform, ctx.chat_key, ctx.chat_title or None, timezone=tz)


def belarus_service(tmp_path: Path, **settings: Any) -> Service:
    folder = tmp_path / "watchlists"
    folder.mkdir(exist_ok=True)
    (folder / "belarus-watch.yaml").write_text(BELARUS_YAML, encoding="utf-8")
    return make_service(tmp_path, folder, **settings)


@pytest.fixture
async def belarus(tmp_path: Path) -> AsyncIterator[Service]:
    svc = belarus_service(tmp_path)
    try:
        yield svc
    finally:
        await svc.close()


async def ask(service: Service, ctx: CommandContext, text: str) -> Reply:
    reply = await handle_text(service, ctx, text)
    assert isinstance(reply, Reply)
    return reply


async def press(service: Service, ctx: CommandContext, data: str) -> Reply:
    reply = await handle_button(service, ctx, data)
    assert isinstance(reply, Reply)
    return reply


def bold_texts(reply: Reply) -> list[str]:
    return [p.text for p in reply.parts if p.kind == "bold"]


def freeze(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    """Answers read the clock through ``utcnow`` in commands_answers: fix it."""
    monkeypatch.setattr("handlers.commands.answers.utcnow", lambda: now)
