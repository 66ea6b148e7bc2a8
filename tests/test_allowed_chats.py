"""ALLOWED_CHATS applies to what the bot pushes, not only to what it is asked (issue 12,
item 9): a chat that subscribed before the allow-list changed gets no alert and no
digest; its rows are marked with the reason, logged once, and its subscriptions kept."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from test_answers_support import belarus_service
from test_commands_support import ADMIN, GROUP, SLACK, make_alert, make_service, say
from test_digests import CHAT, MORNING, FakeNotifier, _alerts, _subscribe

from bot.models import Article
from bot.runtime.delivery import AlertView
from bot.store import session_scope
from bot.store.tables import Delivery, Subscription
from handlers.commands import handle_button
from handlers.commands.answers import send_digests
from handlers.commands.base import NOT_ALLOWED
from handlers.reply import Reply


def other_story(n: int) -> Article:
    """An article that raises its own alert (a story of its own)."""
    places = ["Mali", "Libya", "Sudan"]
    return Article(
        title=f"Wagner mercenaries deploy to {places[n]}",
        text=f"Mercenaries of PMC Wagner on the move in {places[n]}; officials count {n + 3} planes.",
        url=f"https://news.test/other-{n}",
        source="Wire",
        published=f"2026-0{n + 4}-01T08:00:00+00:00",
    )


class Pushes:
    """A notifier for one platform that records what it pushes."""

    min_interval = 0.0

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.sent: list[tuple[str, int]] = []

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        self.sent.append((chat_key, alert.id))
        return "m1"

    async def send_reply(self, chat_key: str, reply: Reply) -> str | None:
        return "m1"


async def test_a_chat_dropped_from_allowed_chats_gets_no_more_alerts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    svc = make_service(tmp_path)  # no allow-list: every chat is served
    telegram, slack = Pushes("telegram"), Pushes("slack")
    svc.notifiers.update(telegram=telegram, slack=slack)
    try:
        for ctx in (ADMIN, SLACK):
            assert not (await say(svc, ctx, "/subscribe demo")).error
        svc.settings.allowed_chats = [SLACK.chat_key]  # the admin narrows the list
        first = make_alert(svc)
        second = make_alert(svc, other_story(0))
        with caplog.at_level(logging.INFO):
            while await svc.drain_outbox():
                pass
        assert telegram.sent == []
        assert slack.sent == [(SLACK.chat_key, first), (SLACK.chat_key, second)]
        with session_scope(svc.factory) as session:
            rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
            skipped = [(r.alert_id, r.status, r.last_error) for r in rows if r.status != "sent"]
            subs = session.scalars(select(Subscription)).all()
            assert [s.paused_reason for s in subs] == [None, None]  # kept, not paused
        assert skipped == [
            (first, "failed", "chat not in ALLOWED_CHATS"),
            (second, "failed", "chat not in ALLOWED_CHATS"),
        ]
        warnings = [r for r in caplog.records if GROUP in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
        assert "not in ALLOWED_CHATS" in warnings[0].getMessage()
        # a button under an earlier alert is refused there too
        assert (await handle_button(svc, ADMIN, f"ex:{first}")).plain_text == NOT_ALLOWED
        # back on the list: the next alert goes out again
        svc.settings.allowed_chats = [SLACK.chat_key, GROUP]
        third = make_alert(svc, other_story(1))
        while await svc.drain_outbox():
            pass
        assert telegram.sent == [(GROUP, third)]
    finally:
        await svc.close()


async def test_no_digest_for_a_chat_outside_allowed_chats(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    svc = belarus_service(tmp_path)
    fake = FakeNotifier()
    svc.notifiers["telegram"] = fake
    try:
        _subscribe(svc)
        _alerts(svc, MORNING - timedelta(hours=3))
        svc.settings.allowed_chats = ["telegram:-999"]
        with caplog.at_level(logging.INFO):
            assert await send_digests(svc, MORNING) == 0
        assert fake.sent == []
        assert [r.levelno for r in caplog.records if CHAT in r.getMessage()] == [logging.WARNING]
        svc.settings.allowed_chats = ["telegram:-999", CHAT]  # served again: the next period
        _alerts(svc, MORNING + timedelta(hours=20))
        assert await send_digests(svc, MORNING + timedelta(days=1)) == 1
    finally:
        await svc.close()
