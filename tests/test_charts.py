"""``trend``: a PNG chart of mentions and alerts per day, and a sparkline for the console."""

from __future__ import annotations

import struct
import zlib
from datetime import date, timedelta

import pytest
from test_answers_support import DESK, KYIV, add_alert, ask, belarus, freeze, hit, set_zone, utc
from test_commands_support import assert_usage_error

from bot.answers.charts import SPARKS, sparkline, trend_png
from bot.answers.periods import parse_period
from bot.answers.queries import AlertFilter, DayCount, trend_data
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.db import SessionFactory

__all__ = ["belarus"]  # fixture

NOW = utc(2026, 11, 1, 21, 30)  # 23:30 in Kyiv
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, checking the chunk's CRC."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert zlib.crc32(kind + body) == crc
    width, height = struct.unpack(">II", body[:8])
    assert data.endswith(b"IEND\xaeB`\x82")
    return width, height


def test_sparkline() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 0, 0]) == "▁▁▁"
    line = sparkline([0, 1, 2, 5, 10])
    assert line[0] == SPARKS[0] and line[-1] == SPARKS[-1] and line[1] != SPARKS[0]
    assert list(line) == sorted(line, key=SPARKS.index)


def test_trend_png_is_a_small_valid_png() -> None:
    days = [DayCount(date(2026, 10, 19) + timedelta(days=i), i * 3 % 7, i % 3) for i in range(14)]
    data = trend_png(days, "Лукашенко — mentions and alerts per day")
    width, height = png_size(data)
    assert (width, height) == (800, 360)
    assert len(data) < 200_000
    year = [DayCount(date(2026, 1, 1) + timedelta(days=i), i % 11, i % 4) for i in range(366)]
    assert png_size(trend_png(year, "a year")) == (800, 360)
    assert png_size(trend_png([], "nothing")) == (800, 360)


def test_trend_data_per_local_day(db: SessionFactory) -> None:
    luka = hit("Alexander Lukashenko")
    with session_scope(db) as s:
        add_alert(
            s, at=utc(2026, 10, 31, 21, 59), hits=[luka, luka, hit("Belarus")]
        )  # Oct 31 23:59 Kyiv
        add_alert(s, at=utc(2026, 10, 31, 22, 1), hits=[luka])  # Nov 1 00:01 in Kyiv
        add_alert(s, at=utc(2026, 10, 31, 23), hits=[hit("Belarus")], watchlist="other")
        period = parse_period("2026-10-30..2026-11-01", KYIV, NOW)
        ent = trend_data(s, AlertFilter(entities=("Alexander Lukashenko",)), period)
        wl = trend_data(s, AlertFilter("belarus-watch"), period)
    assert [(d.day.day, d.mentions, d.alerts) for d in ent] == [(30, 0, 0), (31, 2, 1), (1, 1, 1)]
    assert [(d.day.day, d.mentions, d.alerts) for d in wl] == [(30, 0, 0), (31, 3, 1), (1, 1, 1)]


async def test_trend_command_sends_a_chart(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    set_zone(belarus, DESK, KYIV)
    with session_scope(belarus.factory) as s:
        for i in range(5):
            add_alert(
                s, at=NOW - timedelta(days=i, hours=1), hits=[hit("Alexander Lukashenko")] * (i + 1)
            )
    reply = await ask(belarus, DESK, "/trend Лукашенко")
    lines = reply.plain_text.splitlines()
    assert lines[0] == "Alexander Lukashenko — the last 14 days, per day (Europe/Kyiv)"
    assert lines[1].startswith("mentions ▁▁▁▁▁▁▁▁▁") and "15 in all, most on 28 Oct (5)" in lines[1]
    assert len(lines[1].split()[1]) == 14  # one block per day, today included
    assert lines[2].startswith("alerts   ▁▁▁▁▁▁▁▁▁█████ 5 in all")
    picture = reply.attachment
    assert picture is not None and picture.is_image and picture.mime == "image/png"
    assert picture.filename == "trend-alexander-lukashenko.png"
    assert png_size(picture.content) == (800, 360) and len(picture.content) < 200_000
    month = await ask(belarus, DESK, "/trend belarus-watch 30d")
    assert month.plain_text.startswith("belarus-watch — the last 30 days")
    assert month.attachment is not None


async def test_trend_errors(belarus: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    freeze(monkeypatch, NOW)
    usage = "/trend <entity or wl> [period]"
    assert_usage_error(await ask(belarus, DESK, "/trend"), usage)
    assert_usage_error(await ask(belarus, DESK, "/trend nobody-we-know"), usage)
    assert_usage_error(await ask(belarus, DESK, "/trend belarus 7x"), usage)
    assert_usage_error(await ask(belarus, DESK, "/trend belarus 3000d"), usage)
    quiet = await ask(belarus, DESK, "/trend minsk 7d")
    assert (
        quiet.plain_text == "No alerts about Belarus in the last 7 days."
        and quiet.attachment is None
    )
