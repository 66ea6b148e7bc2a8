"""A condition the bot handles is one INFO/WARNING line, never an ERROR with a traceback
(issue 12, item 14): a 429 flood the outbox rides out, and stopping while Telegram is slow
to answer getUpdates."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from telegram_stub import TelegramStub
from test_telegram import make_alert, seeded_db, service, tg  # noqa: F401 (fixtures)

from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.subscriptions import subscribe, upsert_chat
from handlers.telegram import TelegramFace

GROUP_ID = -100800


def noisy(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR and worse, or anything with a traceback."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


@pytest.fixture
async def face(service: Service) -> AsyncIterator[TelegramFace]:  # noqa: F811
    f = TelegramFace(service, service.settings, poll_timeout=1, max_retries=1)
    await f.start()
    yield f
    await f.stop()


async def test_a_429_flood_is_delivered_once_without_an_error_line(
    tg: TelegramStub,  # noqa: F811
    service: Service,  # noqa: F811
    face: TelegramFace,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tg.group(GROUP_ID, "Desk")
    with session_scope(service.factory) as s:
        chat = upsert_chat(s, "telegram", f"telegram:{GROUP_ID}", title="Desk")
        subscribe(s, chat.id, "troop-movements")
    service.notifiers["telegram"] = face.notifier
    make_alert(service)
    tg.flood("sendMessage", retry_after=1, times=2)  # more than the rate limiter's retries
    caplog.set_level(logging.INFO)
    assert await service.drain_outbox() == 0  # still flooded: the outbox retries later
    deadline = time.monotonic() + 10
    sent = 0
    while not sent and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        sent = await service.drain_outbox()
    assert sent == 1 and len(tg.sent(GROUP_ID)) == 1
    assert noisy(caplog) == []
    retried = [r for r in caplog.records if "retried in" in r.getMessage()]
    assert len(retried) == 1 and retried[0].levelno == logging.INFO
    assert not [r for r in caplog.records if "maximum of" in r.getMessage()]


async def test_stopping_while_get_updates_is_slow_is_quiet(
    tg: TelegramStub,  # noqa: F811
    service: Service,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    f = TelegramFace(service, service.settings, poll_timeout=1, updates_read_timeout=1)
    await f.start()
    try:
        await tg.wait_for("getUpdates", 1)
        tg.slow("getUpdates", 30)  # Telegram hangs: even the last, short getUpdates times out
        await asyncio.sleep(0.5)
        caplog.set_level(logging.INFO)
    finally:
        started = time.monotonic()
        await f.stop()
    assert time.monotonic() - started < 10
    assert noisy(caplog) == []
    lines = [
        r for r in caplog.records if "getUpdates" in r.getMessage() and r.levelno >= logging.WARNING
    ]
    assert len(lines) == 1 and "\n" not in lines[0].getMessage()
