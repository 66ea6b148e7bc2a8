"""Chats, subscriptions, once-only digests and stored watchlists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.store.db import SessionFactory
from bot.store.subscriptions import (
    chat_key,
    chat_subscriptions,
    claim_digest,
    digest_subscriptions,
    get_subscription,
    mute,
    subscribe,
    unsubscribe,
    upsert_chat,
)
from bot.store.watchlists import delete_watchlist, get_watchlist, list_watchlists, save_watchlist

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_upsert_chat_creates_once_and_updates(db: SessionFactory) -> None:
    key = chat_key("telegram", -100123)
    assert key == "telegram:-100123"
    with db.begin() as s:
        chat = upsert_chat(s, "telegram", key, "Desk")
        again = upsert_chat(s, "telegram", key, timezone="Europe/Warsaw")
        assert again.id == chat.id
        assert (again.title, again.timezone, again.allowed) == ("Desk", "Europe/Warsaw", True)


def test_subscribe_change_mode_and_unsubscribe(db: SessionFactory) -> None:
    with db.begin() as s:
        chat = upsert_chat(s, "slack", "slack:C1")
        sub, created = subscribe(s, chat.id, "troops")
        assert created and sub.mode == "instant" and sub.daily_at is None
        assert mute(s, chat.id, "troops", NOW + timedelta(hours=2))
        sub, created = subscribe(s, chat.id, "troops", "daily", "07:30")
        assert not created and (sub.mode, sub.daily_at, sub.muted_until) == ("daily", "07:30", None)
        subscribe(s, chat.id, "belarus", "hourly")
        assert [x.watchlist for x in chat_subscriptions(s, chat.id)] == ["belarus", "troops"]
        assert [x.watchlist for x in digest_subscriptions(s, "daily")] == ["troops"]
        assert unsubscribe(s, chat.id, "troops") and not unsubscribe(s, chat.id, "troops")
        assert get_subscription(s, chat.id, "troops") is None
        assert not mute(s, chat.id, "troops", None)


@pytest.mark.parametrize(
    ("mode", "daily_at"), [("weekly", None), ("daily", "25:00"), ("daily", "7:30")]
)
def test_subscribe_rejects_bad_arguments(
    db: SessionFactory, mode: str, daily_at: str | None
) -> None:
    with db.begin() as s:
        chat = upsert_chat(s, "console", "console:1")
        with pytest.raises(ValueError):
            subscribe(s, chat.id, "troops", mode, daily_at)


def test_a_digest_period_is_claimed_once(db: SessionFactory) -> None:
    with db.begin() as s:
        chat = upsert_chat(s, "console", "console:1")
        sub, _ = subscribe(s, chat.id, "troops", "daily", "08:00")
        assert claim_digest(s, sub.id, "daily:2026-03-10", NOW)
        assert not claim_digest(s, sub.id, "daily:2026-03-10", NOW)
        assert claim_digest(s, sub.id, "daily:2026-03-11", NOW)


def test_watchlists_are_saved_replaced_and_deleted(db: SessionFactory) -> None:
    with db.begin() as s:
        save_watchlist(s, "troops", "name: troops\n", "alice", NOW)
        row = save_watchlist(s, "troops", "name: troops\nkeywords: [convoy*]\n", "bob", NOW)
        assert (row.yaml.count("\n"), row.updated_by) == (2, "bob")
        save_watchlist(s, "belarus", "name: belarus\n")
    with db.begin() as s:
        got = get_watchlist(s, "troops")
        assert got is not None and "convoy" in got.yaml
        assert [w.name for w in list_watchlists(s)] == ["belarus", "troops"]
        assert delete_watchlist(s, "troops") and not delete_watchlist(s, "troops")
        assert get_watchlist(s, "troops") is None
