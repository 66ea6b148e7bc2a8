"""``summary [wl] [period]``: counts, most mentioned entities against the period before,
top stories (both databases for the numbers; the reply on SQLite)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_answers_support import (
    DESK,
    KYIV,
    add_alert,
    ask,
    belarus,
    bold_texts,
    freeze,
    hit,
    set_zone,
    utc,
)
from test_commands_support import assert_usage_error

from bot.answers.periods import parse_period
from bot.answers.queries import AlertFilter, EntityCount, summary_data
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.db import SessionFactory
from bot.store.tables import Alert

__all__ = ["belarus"]  # fixture

NOW = utc(2026, 11, 1, 21, 30)  # 23:30 in Kyiv
LUKA = hit("Alexander Lukashenko", said="Lukashenko")
BELARUS = hit("Belarus", said="Minsk")
TROOPS = hit("troops", kind="keyword")


def _seed(db: SessionFactory) -> dict[str, int]:
    ids: dict[str, int] = {}
    with session_scope(db) as s:
        # this 24 h
        ids["top"] = add_alert(
            s,
            at=NOW - timedelta(hours=1),
            score=0.9,
            title="Top story",
            hits=[LUKA, LUKA, BELARUS, TROOPS],
            outlets=["A", "B"],
        )
        ids["tie"] = add_alert(
            s,
            at=NOW - timedelta(hours=2),
            score=0.7,
            title="Wide story",
            hits=[BELARUS],
            outlets=["A", "B", "C", "D"],
        )
        ids["narrow"] = add_alert(
            s,
            at=NOW - timedelta(hours=3),
            score=0.7,
            title="Narrow story",
            hits=[BELARUS],
            outlets=["A"],
        )
        story = s.get_one(Alert, ids["top"]).story_id
        ids["same"] = add_alert(
            s,
            at=NOW - timedelta(hours=4),
            score=0.95,
            watchlist="other",
            title="Top story",
            hits=[LUKA],
            story_id=story,
        )
        for i in range(3):
            add_alert(s, at=NOW - timedelta(hours=5 + i), score=0.4 - i / 100, hits=[TROOPS])
        # the 24 h before
        for i in range(3):
            add_alert(s, at=NOW - timedelta(hours=30 + i), score=0.5, hits=[BELARUS])
        add_alert(s, at=NOW - timedelta(hours=40), score=0.5, hits=[hit("Poland")])
    return ids  # fmt: skip


def test_summary_counts_entities_and_top_stories(db: SessionFactory) -> None:
    ids = _seed(db)
    with session_scope(db) as s:
        data = summary_data(s, AlertFilter(), parse_period("24h", KYIV, NOW))
    assert (data.alerts, data.stories, data.previous_alerts, data.previous_stories) == (7, 6, 4, 4)
    assert data.entities == [
        EntityCount("Belarus", 3, 3),
        EntityCount("Alexander Lukashenko", 2, 0),  # one alert naming it twice counts once
    ]
    # by score, then outlets; one line per story (its best alert)
    assert [a.id for a in data.top][:4] == [ids["same"], ids["tie"], ids["narrow"], data.top[3].id]
    assert len(data.top) == 5 and ids["top"] not in [a.id for a in data.top]
    assert data.top[1].outlets == 4
    with session_scope(db) as s:
        one = summary_data(s, AlertFilter("belarus-watch"), parse_period("24h", KYIV, NOW))
    assert (one.alerts, one.stories) == (6, 6)
    assert [a.id for a in one.top][:3] == [ids["top"], ids["tie"], ids["narrow"]]
    assert one.entities[0] == EntityCount("Belarus", 3, 3)
    assert one.entities[1] == EntityCount("Alexander Lukashenko", 1, 0)


def test_an_empty_period_has_no_entities_or_stories(db: SessionFactory) -> None:
    _seed(db)
    with session_scope(db) as s:
        data = summary_data(s, AlertFilter(), parse_period("2026-10-01", KYIV, NOW))
    assert data.empty and data.entities == [] and data.top == []


async def test_summary_reply(belarus: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    freeze(monkeypatch, NOW)
    set_zone(belarus, DESK, KYIV)
    _seed(belarus.factory)
    reply = await ask(belarus, DESK, "/summary")
    lines = reply.plain_text.splitlines()
    assert (
        lines[0] == "Summary — all watchlists, the last 24 hours, to 2026-11-01 23:30 Europe/Kyiv"
    )
    assert lines[1] == "7 alerts on 6 stories (+3 against the previous 24 hours: 4)"
    assert lines[3:5] == ["• Belarus — 3 (±0)", "• Alexander Lukashenko — 2 (new)"]
    assert lines[5] == "Top stories"
    assert lines[6].startswith("1. Top story (https://news.test/")
    assert lines[6].endswith(" — other · 0.95 · 1 outlet · 01 Nov 19:30 · #4")
    assert "2. Wide story" in reply.plain_text and "4 outlets" in reply.plain_text
    assert reply.plain_text.count("\n   ") == 5  # a summary line under each story
    assert reply.buttons[0][0].label == "All 7 alerts"
    assert reply.buttons[0][0].data.startswith("al:0:-:")
    more = await ask(belarus, DESK, "/summary belarus-watch 7d")
    assert more.plain_text.startswith("Summary — belarus-watch, the last 7 days")
    assert "10 alerts on 10 stories (+10 against the previous 7 days: 0)" in more.plain_text


async def test_summary_bolds_the_matched_words(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    with session_scope(belarus.factory) as s:
        add_alert(s, at=NOW - timedelta(hours=1), hits=[LUKA, BELARUS],
                  summary="Lukashenko flew to Minsk on Sunday.")  # fmt: skip
    reply = await ask(belarus, DESK, "/summary belarus-watch")
    assert bold_texts(reply)[-2:] == ["Lukashenko", "Minsk"]


async def test_summary_errors_and_empty(belarus: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    freeze(monkeypatch, NOW)
    empty = await ask(belarus, DESK, "/summary belarus-watch today")
    assert empty.plain_text == "No alerts for belarus-watch today (Sun 2026-11-01)."
    assert_usage_error(await ask(belarus, DESK, "/summary nosuch"), "/summary [wl] [period]")
    entity = await ask(belarus, DESK, "/summary lukashenko")
    assert_usage_error(entity, "/summary [wl] [period]")
    assert "is a watched name, not a watchlist" in entity.plain_text
    assert_usage_error(await ask(belarus, DESK, "/summary belarus-watch soon"), "/summary")
