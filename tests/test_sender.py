"""The outbox sender: pushed when alerts commit (not at the next drain), paced, and a flood
folded into one digest — through the real python-telegram-bot against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from conftest import pg_schema
from sqlalchemy import func, select
from telegram import Bot
from telegram_stub import TOKEN, TelegramStub

from bot.config import Settings
from bot.models import Article
from bot.runtime.delivery import ChatPacer
from bot.runtime.service import Service
from bot.store import Delivery, session_scope, subscribe, upsert_chat
from handlers.telegram import TelegramNotifier

WATCHLIST = "name: zebras\ndescription: zebra sightings\nkeywords:\n  - zebra\nmin_score: 0\n"
WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ra", "su", "ti") for b in "aeiou"]


def article(n: int) -> Article:
    """A distinct article on which watchlist ``zebras`` fires (no near-duplicate of another)."""
    rng = random.Random(n)
    words = " ".join(rng.choice(WORDS) + str(rng.randrange(10_000)) for _ in range(40))
    return Article(
        title=f"Zebra report {n}",
        text=f"A zebra was seen near site {n}. {words}.",
        url=f"http://wire.test/zebra/{n}",
        source="wire",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}"
        return
    with pg_schema() as engine:
        yield engine.url.render_as_string(hide_password=False)


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStub]:
    async with TelegramStub() as stub:
        yield stub


@pytest.fixture
async def bot(tg: TelegramStub) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=tg.api_url) as b:
        yield b


def make_service(
    tmp_path: Path, database_url: str, notifier: TelegramNotifier | None, **settings: object
) -> Service:
    folder = tmp_path / "watchlists"
    folder.mkdir(exist_ok=True)
    (folder / "zebras.yaml").write_text(WATCHLIST, encoding="utf-8")
    values: dict[str, object] = {"database_url": database_url, "watchlist_dir": folder}
    values.update(settings)
    service = Service(
        Settings(**values),  # type: ignore[arg-type]
        {"telegram": notifier} if notifier else {},
        worker=f"w{random.randrange(10**9)}",
    )
    service.load_watchlists()
    return service


def subscribe_chat(service: Service, tg: TelegramStub, user_id: int) -> int:
    chat = tg.private_chat(tg.user(user_id, f"U{user_id}"))
    with session_scope(service.factory) as s:
        row = upsert_chat(s, "telegram", f"telegram:{chat['id']}", title="t")
        subscribe(s, row.id, "zebras")
    return int(chat["id"])


def statuses(service: Service) -> dict[str, int]:
    with session_scope(service.factory) as s:
        rows = s.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        return {status: count for status, count in rows}


async def test_a_flood_is_folded_into_one_digest(
    tmp_path: Path, database_url: str, tg: TelegramStub, bot: Bot
) -> None:
    """30 alerts queued for one chat, threshold 10: ten pushes, then one message listing
    the other twenty (links, scores, Explain buttons); every row is marked sent."""
    service = make_service(tmp_path, database_url, TelegramNotifier(bot, limits=False))
    try:
        chat_id = subscribe_chat(service, tg, 501)
        report = await service.ingest_articles([article(n) for n in range(30)], "wire")
        assert len(report.alerts) == 30
        assert await service.drain_outbox() == 30
        sent = tg.sent(chat_id)
        assert len(sent) == 11
        for n, message in enumerate(sent[:10]):
            assert message["text"].startswith(f"Zebra report {n}")
        digest = sent[10]
        assert digest["text"].startswith("20 more alerts")
        for n in range(10, 30):
            assert f"Zebra report {n} · zebras · score" in digest["text"]
        links = {e["url"] for e in digest.get("entities", []) if e["type"] == "text_link"}
        assert links == {f"http://wire.test/zebra/{n}" for n in range(10, 30)}
        buttons = [b for row in digest["reply_markup"]["inline_keyboard"] for b in row]
        assert len(buttons) == 20 and all(b["callback_data"].startswith("ex:") for b in buttons)
        assert statuses(service) == {"sent": 30}
        assert await service.drain_outbox() == 0  # nothing twice
        assert len(tg.sent(chat_id)) == 11
    finally:
        await service.close()


async def test_below_the_threshold_every_alert_is_its_own_push(
    tmp_path: Path, tg: TelegramStub, bot: Bot
) -> None:
    service = make_service(
        tmp_path, f"sqlite:///{tmp_path / 'a.db'}", TelegramNotifier(bot, limits=False)
    )
    try:
        chat_id = subscribe_chat(service, tg, 502)
        await service.ingest_articles([article(n) for n in range(10)], "wire")
        assert await service.drain_outbox() == 10
        assert [m["text"].split("\n")[0] for m in tg.sent(chat_id)] == [
            f"Zebra report {n}" for n in range(10)
        ]
    finally:
        await service.close()


async def test_an_alert_is_pushed_when_it_commits_not_at_the_next_drain(
    tmp_path: Path, tg: TelegramStub, bot: Bot
) -> None:
    """The sender runs with a drain period of an hour: only the wake can make the push."""
    service = make_service(
        tmp_path,
        f"sqlite:///{tmp_path / 'a.db'}",
        TelegramNotifier(bot, limits=False),
        outbox_drain_s=3600,
    )
    sender = asyncio.create_task(service.run_sender())
    try:
        chat_id = subscribe_chat(service, tg, 503)
        await asyncio.sleep(0)  # the sender's first look (nothing due yet)
        await service.ingest_articles([article(1)], "wire")
        await tg.wait_for("sendMessage", 1, timeout=10, where=lambda c: c.ok)
        assert tg.sent(chat_id)[0]["text"].startswith("Zebra report 1")
    finally:
        service.stopping = True
        await asyncio.wait_for(sender, 10)
        await service.close()


async def test_another_replicas_commit_wakes_the_sender(
    tmp_path: Path, tg: TelegramStub, bot: Bot
) -> None:
    """PostgreSQL: replica B stores the alert, replica A's sender (drain period an hour)
    is woken by B's NOTIFY and pushes it."""
    with pg_schema() as engine:
        url = engine.url.render_as_string(hide_password=False)
        sending = make_service(tmp_path, url, TelegramNotifier(bot, limits=False), outbox_drain_s=3600)
        storing = make_service(tmp_path, url, None)
        sender = asyncio.create_task(sending.run_sender())
        try:
            chat_id = subscribe_chat(storing, tg, 504)
            await asyncio.wait_for(sending.sender.listening.wait(), 10)
            await asyncio.sleep(0.05)  # its first look, woken by the LISTEN, is done
            await storing.ingest_articles([article(2)], "wire")
            await tg.wait_for("sendMessage", 1, timeout=10, where=lambda c: c.ok)
            assert tg.sent(chat_id)[0]["text"].startswith("Zebra report 2")
        finally:
            sending.stopping = True
            await asyncio.wait_for(sender, 10)
            await sending.close()
            await storing.close()


async def test_a_flooded_chat_waits_as_telegram_asks(
    tmp_path: Path, tg: TelegramStub, bot: Bot
) -> None:
    """A 429 with retry_after: that row and the chat's others wait, nothing is lost."""
    service = make_service(
        tmp_path, f"sqlite:///{tmp_path / 'a.db'}", TelegramNotifier(bot, limits=False)
    )
    try:
        chat_id = subscribe_chat(service, tg, 505)
        await service.ingest_articles([article(n) for n in range(3)], "wire")
        tg.flood("sendMessage", retry_after=30)
        assert await service.drain_outbox() == 0
        assert await service.drain_outbox() == 0  # all three wait for the 30 s
        assert statuses(service) == {"pending": 3}
        assert tg.sent(chat_id) == []
    finally:
        await service.close()


async def test_pacing_follows_the_platform_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram: a private chat 1 s apart, a group 3 s (20/min), the bot 30/s in all
    (a fake clock: the waits are asserted, not timed)."""
    clock = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 4))
        clock[0] += seconds

    monkeypatch.setattr("bot.runtime.delivery.time.monotonic", lambda: clock[0])
    monkeypatch.setattr("bot.runtime.delivery.asyncio.sleep", sleep)
    notifier = TelegramNotifier(None)  # type: ignore[arg-type]
    assert notifier.chat_interval("telegram:42") == 1.0
    assert notifier.chat_interval("telegram:-100500") == 3.0
    off = TelegramNotifier(None, limits=False)  # type: ignore[arg-type]
    assert off.chat_interval("telegram:-1") == 0.0 and off.max_rate is None
    pacer = ChatPacer()
    for _ in range(3):
        await pacer.pace("telegram:-100500", notifier)
    assert waits == [3.0, 3.0]  # a group: 20 a minute
    waits.clear()
    for n in range(30):
        await pacer.pace(f"telegram:{n}", notifier)  # 30 chats: only the bot's rate applies
    assert waits and all(w <= round(1 / 30, 4) for w in waits)
    assert clock[0] - 6.0 >= 29 / 30 - 1e-6  # 30 messages spread over a second, not a burst
