"""``alerts [wl] [since]``, its "More" button, and plain questions about watched names."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from test_answers_support import (
    CONSOLE,
    DESK,
    KYIV,
    add_alert,
    ask,
    belarus,
    freeze,
    hit,
    press,
    set_zone,
    utc,
)
from test_commands_support import assert_one_line_error, assert_usage_error

from bot.answers.periods import parse_period
from bot.answers.queries import AlertFilter, count_alerts, latest_alert, list_alerts
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.db import SessionFactory
from handlers.console import repl

__all__ = ["belarus"]  # fixture

NOW = utc(2026, 11, 1, 21, 30)  # Sunday 23:30 in Kyiv
LUKA = hit("Alexander Lukashenko", said="Лукашенко")
BELARUS = hit("Belarus")


# --- the query layer, on both databases ------------------------------------


def test_alerts_newest_first_with_filters(db: SessionFactory) -> None:
    with session_scope(db) as s:
        old = add_alert(s, at=NOW - timedelta(days=3), hits=[BELARUS], outlets=["A", "B", "C"])
        mid = add_alert(s, at=NOW - timedelta(hours=5), hits=[LUKA], watchlist="other")
        new = add_alert(s, at=NOW - timedelta(hours=1), hits=[BELARUS, LUKA])
        day = parse_period("24h", KYIV, NOW)
        week = parse_period("7d", KYIV, NOW)
        assert [a.id for a in list_alerts(s, AlertFilter(), week)] == [new, mid, old]
        assert [a.id for a in list_alerts(s, AlertFilter(), day)] == [new, mid]
        assert count_alerts(s, AlertFilter("belarus-watch"), week) == 2
        luka = AlertFilter(entities=("Alexander Lukashenko",))
        assert [a.id for a in list_alerts(s, luka, week)] == [new, mid]
        assert count_alerts(s, AlertFilter(entities=("Belarus",)), day) == 1
        assert count_alerts(s, AlertFilter("other", ("Belarus",)), week) == 0
        first = list_alerts(s, AlertFilter(), week, offset=2)[0]
        assert (first.id, first.outlets, first.url) == (old, 3, first.url)
        assert first.url.startswith("https://news.test/")
        latest = latest_alert(s, AlertFilter(entities=("Belarus",)), day.start)
        assert latest is not None and latest.id == old


def test_an_entity_only_named_in_a_keyword_hit_does_not_count(db: SessionFactory) -> None:
    with session_scope(db) as s:
        add_alert(s, at=NOW, hits=[hit("Belarus", kind="keyword")])
        assert count_alerts(s, AlertFilter(entities=("Belarus",)), None) == 0


# --- the command -----------------------------------------------------------


def _fill(service: Service, count: int) -> list[int]:
    ids = []
    with session_scope(service.factory) as s:
        for i in range(count):
            at = NOW - timedelta(minutes=60 + 30 * i)
            ids.append(add_alert(s, at=at, title=f"Convoy {i}", hits=[BELARUS], score=0.61))
    return ids


async def test_alerts_pages_of_ten_in_the_chat_zone(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    set_zone(belarus, DESK, KYIV)
    ids = _fill(belarus, 23)
    first = await ask(belarus, DESK, "/alerts")
    lines = first.plain_text.splitlines()
    assert (
        lines[0] == "Alerts for all watchlists — the last 7 days: 1–10 of 23 (times in Europe/Kyiv)"
    )
    # 22:30 in Kyiv (UTC+2) for the alert at 20:30 UTC
    assert lines[1].startswith("01 Nov 22:30 · Convoy 0 (https://news.test/")
    assert lines[1].endswith(f"· belarus-watch · 0.61 · 1 outlet · #{ids[0]}")
    assert len(lines) == 11
    assert [p.kind for p in first.parts[:4]] == ["bold", "text", "break", "text"]
    assert first.parts[4].kind == "link" and first.parts[4].text == "Convoy 0"
    (button,) = [b for row in first.buttons for b in row]
    assert button.label == "More (11–20 of 23)"
    assert button.data.startswith("al:10:-:") and len(button.data.encode()) <= 64
    second = await press(belarus, DESK, button.data)
    assert "11–20 of 23" in second.plain_text and f"#{ids[10]}" in second.plain_text
    third = await press(belarus, DESK, second.buttons[0][0].data)
    assert "21–23 of 23" in third.plain_text and not third.buttons
    # a new alert after the first answer does not shift the pages: the period is fixed
    freeze(monkeypatch, NOW + timedelta(minutes=10))
    with session_scope(belarus.factory) as s:
        add_alert(s, at=NOW + timedelta(minutes=5), hits=[BELARUS])
    again = await press(belarus, DESK, button.data)
    assert again.plain_text == second.plain_text


async def test_alerts_of_a_watchlist_an_entity_and_a_period(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    with session_scope(belarus.factory) as s:
        add_alert(s, at=NOW - timedelta(hours=2), title="Minsk drills", hits=[BELARUS])
        add_alert(s, at=NOW - timedelta(days=2), title="Lukashenko speaks", hits=[LUKA])
        add_alert(s, at=NOW - timedelta(hours=3), title="Other list", watchlist="x-list")
    wl = (await ask(belarus, DESK, "/alerts belarus-watch 24h")).plain_text
    assert wl.startswith("Alerts for belarus-watch — the last 24 hours: 1–1 of 1")
    assert "Minsk drills" in wl and "Other list" not in wl
    ent = (await ask(belarus, DESK, "/alerts lukashenko 7d")).plain_text
    assert ent.startswith("Alerts about Alexander Lukashenko — the last 7 days: 1–1 of 1")
    day = (await ask(belarus, DESK, "/alerts yesterday")).plain_text
    assert day == (
        "No alerts for all watchlists yesterday (2026-10-31). "
        "The latest was #2, 2026-10-30 21:30 UTC."
    )
    empty = (await ask(belarus, DESK, "/alerts belarus-watch 2026-10-25")).plain_text
    assert empty == "No alerts for belarus-watch on 2026-10-25."  # and none before


async def test_alerts_arguments_errors_are_one_line_with_usage(belarus: Service) -> None:
    for bad, fragment in [
        ("/alerts nosuch", "is not a watchlist, a watched name or a period"),
        ("/alerts belarus-watch 7x", "'7x' is not a period; try 24h, 7d"),
        ("/alerts belaruswatch", "did you mean belarus-watch? Usage"),  # not also Belarus
        ("/alerts 2026-02-30", "not a watchlist"),
    ]:
        reply = await ask(belarus, DESK, bad)
        assert_usage_error(reply, "/alerts [wl] [since]")
        assert fragment in reply.plain_text, reply.plain_text


async def test_a_long_watchlist_name_is_hashed_in_the_button(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    name = "w" * 60
    await ask(belarus, CONSOLE, f"new {name} Long name")
    with session_scope(belarus.factory) as s:
        for i in range(12):
            add_alert(s, at=NOW - timedelta(minutes=5 + i), watchlist=name)
    first = await ask(belarus, CONSOLE, f"alerts {name} 1h")
    data = first.buttons[0][0].data
    assert data.startswith("al:10:#") and len(data.encode()) <= 64
    second = await press(belarus, CONSOLE, data)
    assert f"Alerts for {name}" in second.plain_text and "11–12 of 12" in second.plain_text


@pytest.mark.parametrize(
    "data",
    ["al:1", "al:x:-:1.2", "al:10:-:zz", "al:10:Bad Name:tnsjq0.tnuee0", "al:10:@deadbeef:tnsjq0.tnuee0",
     "al:10:#deadbeef:tnsjq0.tnuee0", "al:999999999:-:tnsjq0.tnuee0"],
)  # fmt: skip
async def test_a_bad_more_button_is_one_line(belarus: Service, data: str) -> None:
    assert_one_line_error(await press(belarus, DESK, data))


# --- plain questions -------------------------------------------------------


async def test_questions_name_an_entity_or_a_watchlist_and_a_period(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    set_zone(belarus, DESK, KYIV)
    with session_scope(belarus.factory) as s:
        add_alert(s, at=NOW - timedelta(hours=2), title="Minsk drills", hits=[BELARUS])
        add_alert(s, at=NOW - timedelta(days=3), title="Лукашенко встретился", hits=[LUKA])
        add_alert(s, at=NOW - timedelta(hours=1), title="Unrelated", hits=[hit("Poland")])
    new = await ask(belarus, DESK, "anything new on Belarus?")
    assert new.plain_text.startswith("Alerts about Belarus — the last 7 days: 1–1 of 1")
    assert "Minsk drills" in new.plain_text and not new.error
    # one default period: a plain question and alerts without a period list the same alerts
    asked = await ask(belarus, DESK, "lukashenko?")
    listed_all = await ask(belarus, DESK, "/alerts")
    assert asked.plain_text.startswith("Alerts about Alexander Lukashenko — the last 7 days")
    assert "Лукашенко встретился" in asked.plain_text
    assert listed_all.plain_text.startswith("Alerts for all watchlists — the last 7 days")
    assert "the last 7 days" in (await ask(belarus, DESK, "/help")).plain_text
    week = await ask(belarus, DESK, "Лукашенко this week")
    assert week.plain_text.startswith("Alerts about Alexander Lukashenko — this week")
    assert "Лукашенко встретился" in week.plain_text
    today = await ask(belarus, DESK, "lukashenka today")
    assert today.plain_text.startswith("No alerts about Alexander Lukashenko today (")
    assert "The latest was" in today.plain_text
    both = await ask(belarus, DESK, "minsk or lukashenko in the past week?")
    assert both.plain_text.startswith(
        "Alerts about Belarus or Alexander Lukashenko — the last week: 1–2 of 2"
    )
    listed = await ask(belarus, DESK, "belarus-watch since yesterday")
    assert listed.plain_text.startswith("Alerts for belarus-watch — since yesterday (2026-10-31)")
    slack = await ask(belarus, DESK, "<@U99> belarus today")
    assert "Minsk drills" in slack.plain_text


async def test_anything_else_gets_a_one_line_hint(belarus: Service) -> None:
    hint = await ask(belarus, DESK, "what is the weather like?")
    assert_one_line_error(hint, "Ask about a watched name or watchlist", "/help")
    assert "Alexander Lukashenko" in hint.plain_text  # a real example from the watchlists
    assert_one_line_error(await ask(belarus, DESK, "frobnicate"), "Unknown command 'frobnicate'")
    assert_one_line_error(await ask(belarus, DESK, "/belarus"), "Unknown command 'belarus'")
    bad_day = await ask(belarus, DESK, "belarus 2026-02-30")
    assert_one_line_error(bad_day, "not a date")


async def test_alerts_page_n_is_the_page_the_more_button_gives(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    ids = _fill(belarus, 23)
    first = await ask(belarus, DESK, "/alerts 7d")
    pressed = await press(belarus, DESK, first.buttons[0][0].data)
    typed = await ask(belarus, DESK, "/alerts 7d page 2")
    # the same alerts (the button's heading names the period by its dates)
    assert typed.plain_text.splitlines()[1:] == pressed.plain_text.splitlines()[1:]
    assert "11–20 of 23" in typed.plain_text and f"#{ids[10]}" in typed.plain_text
    assert typed.buttons[0][0].data.startswith("al:20:-:")  # its More button: page 3
    wl = await ask(belarus, DESK, "/alerts belarus-watch page 3")
    assert "21–23 of 23" in wl.plain_text and not wl.buttons
    far = await ask(belarus, DESK, "/alerts page 9")
    assert far.plain_text == "No more alerts for all watchlists in the last 7 days (23 in all)."
    for bad, fragment in [
        ("/alerts page 0", "'0' is not a page number"),
        ("/alerts 7d page two", "'two' is not a page number"),
        ("/alerts 7d page", "Say which page"),
        ("/alerts page 99999999", "is too far"),
    ]:
        reply = await ask(belarus, DESK, bad)
        assert_usage_error(reply, "/alerts [wl] [since] [all] [page N]")
        assert fragment in reply.plain_text, reply.plain_text


async def test_more_in_the_terminal_continues_the_last_listing(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    ids = _fill(belarus, 23)
    out = io.StringIO()
    lines = "more\nalerts\nmore\nexplain 1\nmore\nmore\nalerts 24h page 3\nmore\n"
    await repl(belarus, io.StringIO(lines), out)
    printed = out.getvalue()
    assert printed.startswith("Nothing to continue: list alerts first (alerts [wl] [since]).\n")
    assert "1–10 of 23" in printed and "More (11–20 of 23): type more" in printed
    assert "11–20 of 23" in printed and f"#{ids[10]}" in printed
    assert "Why alert #1 fired" in printed  # another command between pages
    assert "21–23 of 23" in printed and f"#{ids[22]}" in printed
    assert printed.count("No more pages: that listing is complete.") == 2
    assert "the last 24 hours: 21–23 of 23" in printed


async def test_an_unknown_watchlist_is_answered_with_watchlists_not_loose_names(
    belarus: Service,
) -> None:
    added = await ask(belarus, CONSOLE, "add belarus-watch entity Moscow")
    assert "Added entity 'Moscow'" in added.plain_text
    reply = await ask(belarus, DESK, "/alerts nosuch")
    assert_usage_error(reply, "/alerts [wl] [since]")
    assert "Moscow" not in reply.plain_text
    assert "send /watchlists for the list" in reply.plain_text
    typo = await ask(belarus, DESK, "/alerts belarus-wach")
    assert "did you mean belarus-watch?" in typo.plain_text, typo.plain_text
    assert "did you mean Moscow?" in (await ask(belarus, DESK, "/alerts moskow")).plain_text


@pytest.mark.parametrize(
    ("typed", "usage"),
    [
        ("/alerts belarus-watch 7d extra", "/alerts [wl] [since]"),
        ("/alerts 7d extra words", "/alerts [wl] [since]"),
        ("/summary belarus-watch 7d extra", "/summary [wl] [period]"),
        ("/trend lukashenko 7d extra", "/trend <entity or wl> [period]"),
    ],
)
async def test_words_after_the_period_are_refused(belarus: Service, typed: str, usage: str) -> None:
    reply = await ask(belarus, DESK, typed)
    assert_usage_error(reply, usage)
    assert "Extra words after the period: '" in reply.plain_text
    assert "did you mean belarus-watch" not in reply.plain_text  # summary said "'demo'… demo?"
