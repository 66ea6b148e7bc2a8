"""Periods as typed in chat, with day boundaries in the chat's zone (fixed ``now``s)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.answers.periods import (
    EXAMPLES,
    PeriodError,
    day_start,
    parse_period,
    period_from_key,
)

KYIV = "Europe/Kyiv"  # UTC+3 in summer, UTC+2 from 2026-10-25 04:00 local
NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# Sunday 2026-11-01, 23:30 in Kyiv (UTC+2): half an hour before a new day and a new week.
SUNDAY_LATE = utc(2026, 11, 1, 21, 30)
# Monday 2026-11-02, 00:30 in Kyiv: the new day and week have just begun.
MONDAY_EARLY = utc(2026, 11, 1, 22, 30)


def test_today_begins_at_local_midnight_not_utc_midnight() -> None:
    late = parse_period("today", KYIV, SUNDAY_LATE)
    assert (late.start, late.end) == (utc(2026, 10, 31, 22), SUNDAY_LATE)
    assert late.label == "today (Sun 2026-11-01)"
    early = parse_period("today", KYIV, MONDAY_EARLY)
    assert early.start == utc(2026, 11, 1, 22)  # an hour after SUNDAY_LATE's "today" is over
    assert early.length == timedelta(minutes=30)
    # the same instants in UTC would still be Nov 1
    assert parse_period("today", "UTC", MONDAY_EARLY).start == utc(2026, 11, 1)


def test_yesterday_is_the_whole_local_day_before() -> None:
    p = parse_period("Yesterday", KYIV, MONDAY_EARLY)
    assert (p.start, p.end) == (utc(2026, 10, 31, 22), utc(2026, 11, 1, 22))
    assert p.label == "yesterday (2026-11-01)"
    assert p.contains(utc(2026, 11, 1, 21, 59)) and not p.contains(utc(2026, 11, 1, 22))


def test_a_day_with_a_dst_change_is_25_hours_long() -> None:
    p = parse_period("yesterday", KYIV, utc(2026, 10, 26, 8))
    assert (p.start, p.end) == (utc(2026, 10, 24, 21), utc(2026, 10, 25, 22))
    assert p.length == timedelta(hours=25)


def test_weeks_begin_on_local_monday() -> None:
    this = parse_period("this week", KYIV, SUNDAY_LATE)
    assert this.start == utc(2026, 10, 25, 22)  # Mon Oct 26 00:00 in Kyiv (UTC+2)
    assert this.label == "this week (from Mon 2026-10-26)"
    fresh = parse_period("this  WEEK", KYIV, MONDAY_EARLY)
    assert fresh.start == utc(2026, 11, 1, 22) and fresh.length == timedelta(minutes=30)
    last = parse_period("last week", KYIV, MONDAY_EARLY)
    assert (last.start, last.end) == (utc(2026, 10, 25, 22), utc(2026, 11, 1, 22))
    assert last.label == "last week (2026-10-26 to 2026-11-01)"
    before = parse_period("last week", KYIV, SUNDAY_LATE)
    # Oct 19 00:00 was still summer time (UTC+3); the week has 169 hours
    assert (before.start, before.end) == (utc(2026, 10, 18, 21), utc(2026, 10, 25, 22))
    assert before.length == timedelta(hours=169)


def test_rolling_hours_are_exact_and_days_follow_the_wall_clock() -> None:
    now = utc(2026, 10, 28, 12)  # after the DST change in Kyiv
    hours = parse_period("24h", KYIV, now)
    assert (hours.start, hours.end, hours.label) == (
        utc(2026, 10, 27, 12),
        now,
        "the last 24 hours",
    )
    week = parse_period("7d", KYIV, now)
    assert week.start == utc(2026, 10, 21, 11)  # 14:00 local then (UTC+3) as now (UTC+2)
    assert week.length == timedelta(hours=169) and week.label == "the last 7 days"
    assert parse_period("168h", KYIV, now).length == timedelta(hours=168)
    two = parse_period("2w", KYIV, now)
    assert two.label == "the last 2 weeks" and two.start == utc(2026, 10, 14, 11)
    assert parse_period("1h", "UTC", now).label == "the last hour"
    assert parse_period("3 days", "UTC", now).start == utc(2026, 10, 25, 12)
    assert parse_period("last 2 weeks", "UTC", now).label == "the last 2 weeks"


def test_iso_dates_and_ranges_are_local_days() -> None:
    day = parse_period("2026-11-01", NY, SUNDAY_LATE)  # New York leaves DST that morning
    assert (day.start, day.end) == (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    assert day.label == "2026-11-01" and day.length == timedelta(hours=25)
    span = parse_period("2026-11-01..2026-11-07", NY, SUNDAY_LATE)
    assert (span.start, span.end) == (utc(2026, 11, 1, 4), utc(2026, 11, 8, 5))
    assert span.label == "2026-11-01 to 2026-11-07"
    assert span.days() == [date(2026, 11, d) for d in range(1, 8)]
    single = parse_period("2026-11-03..2026-11-03", "UTC", SUNDAY_LATE)
    assert single.length == timedelta(days=1)


def test_previous_period_has_the_same_length_and_kind() -> None:
    today = parse_period("today", KYIV, SUNDAY_LATE).previous()
    assert (today.start, today.end) == (utc(2026, 10, 30, 22), utc(2026, 10, 31, 21, 30))
    assert today.label == "the previous day"
    hours = parse_period("24h", KYIV, SUNDAY_LATE).previous()
    assert (hours.start, hours.end) == (utc(2026, 10, 30, 21, 30), utc(2026, 10, 31, 21, 30))
    assert hours.label == "the previous 24 hours"
    week = parse_period("last week", KYIV, MONDAY_EARLY).previous()
    assert (week.start, week.end) == (utc(2026, 10, 18, 21), utc(2026, 10, 25, 22))
    assert week.label == "the previous week"
    days = parse_period("7d", KYIV, SUNDAY_LATE)
    assert days.previous().end == days.start and days.previous().label == "the previous 7 days"
    rng = parse_period("2026-11-01..2026-11-07", "UTC", SUNDAY_LATE).previous()
    assert (rng.start, rng.end) == (utc(2026, 10, 25), utc(2026, 11, 1))


def test_key_round_trips_through_a_button() -> None:
    for text in ("24h", "today", "last week", "2026-11-01..2026-11-07"):
        p = parse_period(text, KYIV, SUNDAY_LATE + timedelta(microseconds=1234))
        assert len(p.key) <= 13
        back = period_from_key(p.key, KYIV)
        assert back.start <= p.start < back.start + timedelta(seconds=1)
        assert back.end - timedelta(seconds=1) < p.end <= back.end
    shown = period_from_key(parse_period("today", KYIV, SUNDAY_LATE).key, KYIV)
    assert shown.label == "2026-11-01 00:00 to 2026-11-01 23:30"
    for bad in ("", "x", "zz.aa", "1.1", "!!.00", "a" * 30):
        with pytest.raises(PeriodError):
            period_from_key(bad, KYIV)


def test_a_midnight_that_does_not_exist_starts_the_day_at_its_first_instant() -> None:
    z = ZoneInfo("America/Havana")  # DST begins at 00:00 → 01:00
    day = date(2026, 3, 8)
    start = day_start(day, z)
    assert start.astimezone(z).date() == day
    assert (start - timedelta(microseconds=1)).astimezone(z).date() == day - timedelta(days=1)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "7x", "0d", "0h", "99999w", "soon", "2026-02-30", "2026-11-07..2026-11-01",
     "2026-11-01..2040-01-01", "last month", "1m", "7 d d"],
)  # fmt: skip
def test_a_bad_period_is_one_line_with_examples(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, KYIV, SUNDAY_LATE)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 200
    if text.strip() and text not in ("2026-02-30",) and ".." not in text and text[0] != "0":
        assert EXAMPLES in message or "too long" in message, message


def test_unknown_zone_falls_back_to_utc() -> None:
    assert parse_period("today", "Mars/Olympus", SUNDAY_LATE).start == utc(2026, 11, 1)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("24h", "in the last 24 hours"),
        ("today", "today (Tue 2026-12-01)"),
        ("yesterday", "yesterday (2026-11-30)"),
        ("this week", "this week (from Mon 2026-11-30)"),
        ("last week", "last week (2026-11-23 to 2026-11-29)"),
        ("2026-11-05", "on 2026-11-05"),
        ("2026-11-01..2026-11-05", "from 2026-11-01 to 2026-11-05"),
    ],
)
def test_a_period_is_said_with_the_right_preposition(text: str, said: str) -> None:
    """ "No alerts … yesterday (…)", not "… in yesterday (…)"."""
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parse_period(text, "UTC", now).during == said
