"""The chat issue's scenario, both faces at once with the real libraries on loopback.

A Telegram user subscribes in a private chat and a Slack channel subscribes
with the slash command; an article matching the watchlist is ingested;
exactly one message reaches each, with the right content. A 429 from either
stand-in delays the message but does not lose it, and a restart of the bot
between the alert and the send still delivers it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from slack_stub import BOT_TOKEN, SIGNING_SECRET, SlackStub, signed_headers, slash_command_body
from sqlalchemy import select, update
from telegram_stub import TOKEN, TelegramStub

from bot.config import Settings
from bot.models import Article
from bot.runtime.service import Service
from bot.store import Delivery, session_scope
from handlers.slack import SlackFace
from handlers.telegram import TelegramFace

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = Article(
    "Russian troops arrive in Belarus for joint drills",
    "Several thousand soldiers and a column of tanks arrived by train in Brest region "
    "near the Polish border, the defence ministry in Minsk said on Saturday.",
    "https://wire.test/a1",
    "Wire",
)
TG_USER = 4242
SLACK_CHANNEL = "C1"


@dataclass
class Bot:
    """One running alertbot: the service and its two faces."""

    service: Service
    telegram: TelegramFace
    slack: SlackFace
    http: TestClient  # type: ignore[type-arg]

    async def stop(self) -> None:
        await self.http.close()
        await self.telegram.stop()
        await self.slack.stop()
        await self.service.close()


def settings(tmp_path: Path, tg: TelegramStub, sl: SlackStub) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        watchlist_dir=ROOT / "watchlists",
        telegram_token=SecretStr(TOKEN),
        telegram_api_url=tg.api_url,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        slack_api_url=sl.api_url,
        admin_users=["slack:U1"],
    )


async def start_bot(tmp_path: Path, tg: TelegramStub, sl: SlackStub) -> Bot:
    service = Service(settings(tmp_path, tg, sl), worker="scenario")
    service.load_watchlists()
    telegram = TelegramFace(service, service.settings, poll_timeout=1)
    slack = SlackFace(service, service.settings)
    service.notifiers["telegram"] = telegram.notifier
    service.notifiers["slack"] = slack.notifier()
    await telegram.start()
    await slack.start()
    app = web.Application()
    slack.mount(app)
    http = TestClient(TestServer(app, host="127.0.0.1"))
    await http.start_server()
    return Bot(service, telegram, slack, http)


@pytest.fixture
async def stubs() -> AsyncIterator[tuple[TelegramStub, SlackStub]]:
    async with TelegramStub() as tg, SlackStub() as sl:
        yield tg, sl


async def subscribe_both(bot: Bot, tg: TelegramStub, sl: SlackStub) -> None:
    user = tg.user(TG_USER, "Analyst")
    chat = tg.private_chat(user)
    tg.send_text(chat, user, "/subscribe troop-movements")
    await tg.wait_for("sendMessage", 1, where=lambda c: c.params.get("chat_id") == TG_USER)
    body = slash_command_body(
        "subscribe troop-movements", response_url=sl.response_url("sub"), user="U1"
    )
    resp = await bot.http.post("/slack/events", data=body, headers=signed_headers(body))
    assert resp.status == 200
    (answer,) = await sl.wait_for("response", where=lambda c: c.params["_key"] == "sub")
    assert "troop-movements" in answer.params["text"]


def pushed_to_telegram(tg: TelegramStub) -> list[str]:
    return [m["text"] for m in tg.sent(TG_USER) if m["text"].startswith(ARTICLE.title)]


def pushed_to_slack(sl: SlackStub) -> list[str]:
    return [
        str(c.params.get("text", ""))
        for c in sl.called("chat.postMessage")
        if c.result is not None
        and c.result.get("ok")  # a 429 answer is not a message
        and c.params.get("channel") == SLACK_CHANNEL
        and ARTICLE.title in str(c.params)
    ]


async def drain_until(bot: Bot, expected: int, timeout: float = 15) -> int:
    """Run the outbox sender until ``expected`` messages went out (or time runs out)."""
    sent = 0
    deadline = asyncio.get_running_loop().time() + timeout
    while sent < expected and asyncio.get_running_loop().time() < deadline:
        sent += await bot.service.drain_outbox()
        with session_scope(bot.service.factory) as s:  # retries are due in a second or so
            s.execute(
                update(Delivery)
                .where(Delivery.status == "pending")
                .values(next_attempt_at=Delivery.created_at)
            )
        await asyncio.sleep(0.2)
    return sent


async def test_one_message_each_and_a_429_delays_but_does_not_lose(
    tmp_path: Path, stubs: tuple[TelegramStub, SlackStub]
) -> None:
    tg, sl = stubs
    bot = await start_bot(tmp_path, tg, sl)
    try:
        await subscribe_both(bot, tg, sl)
        tg.flood("sendMessage", retry_after=1, times=1)
        sl.rate_limit("chat.postMessage", times=3, retry_after=1)
        floods_before = len(sl.called("chat.postMessage"))
        assert (await bot.service.ingest_articles([ARTICLE], "wire")).alerts
        assert await drain_until(bot, 2) == 2
        assert len(pushed_to_telegram(tg)) == 1
        assert len(pushed_to_slack(sl)) == 1
        assert len(sl.called("chat.postMessage")) - floods_before > 1  # the 429s happened
        assert any(c.status == 429 for c in tg.calls_to("sendMessage"))
        assert "<b>" not in pushed_to_telegram(tg)[0]  # rendered as entities, not raw tags
        # the same story again from another outlet: no second push
        reprint = Article(
            ARTICLE.title, ARTICLE.text + " Reuters contributed.", "https://other.test/x", "Other"
        )
        await bot.service.ingest_articles([reprint], "other")
        await bot.service.drain_outbox()
        assert len(pushed_to_telegram(tg)) == 1 and len(pushed_to_slack(sl)) == 1
    finally:
        await bot.stop()


async def test_a_restart_between_alert_and_send_delivers_once(
    tmp_path: Path, stubs: tuple[TelegramStub, SlackStub]
) -> None:
    tg, sl = stubs
    bot = await start_bot(tmp_path, tg, sl)
    try:
        await subscribe_both(bot, tg, sl)
        assert (await bot.service.ingest_articles([ARTICLE], "wire")).alerts
    finally:
        await bot.stop()  # down before anything was sent
    assert pushed_to_telegram(tg) == [] and pushed_to_slack(sl) == []
    bot = await start_bot(tmp_path, tg, sl)
    try:
        assert await drain_until(bot, 2) == 2
        assert await bot.service.drain_outbox() == 0  # nothing left, nothing twice
        assert len(pushed_to_telegram(tg)) == 1 and len(pushed_to_slack(sl)) == 1
        with session_scope(bot.service.factory) as s:
            statuses = s.scalars(select(Delivery.status)).all()
        assert sorted(statuses) == ["sent", "sent"]
    finally:
        await bot.stop()
